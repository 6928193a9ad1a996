"""Stanford Background, SIFT Flow and MSRC-v2 to srkit's 10 categories: the tables, and the real files."""
import numpy as np
import pytest

from srkit.categories import CATEGORY_INDEX as C
from srkit.data.label_maps import (IGNORE, MSRC_CLASSES, SIFTFLOW_CLASSES, map_msrc, map_siftflow, map_stanford,
                                   msrc_table, siftflow_table, stanford_table)


def test_stanford_table():
    t = stanford_table()
    assert t[:8].tolist() == [C["sky"], C["plant"], C["background"], C["grass"], C["water"], C["building"],
                              C["mountain"], C["background"]]
    assert t[15] == IGNORE
    with pytest.raises(ValueError, match=r"does not define: \[9\]"):
        map_stanford(np.array([[0, 9]]))


def test_siftflow_table():
    t = siftflow_table()
    label = {c: i + 1 for i, c in enumerate(SIFTFLOW_CLASSES)}
    assert t.shape == (34,) and t[0] == IGNORE
    expect = {"sky": "sky", "sun": "sky", "sea": "water", "river": "water", "field": "grass", "rock": "mountain",
              "window": "building", "door": "building", "tree": "plant", "cow": "animal", "bird": "animal",
              "person": "background", "sign": "background", "desert": "background", "sand": "background",
              "road": "background"}
    for name, category in expect.items():
        assert t[label[name]] == C[category], name
    assert C["face"] not in t and C["text"] not in t
    with pytest.raises(ValueError, match="SIFT Flow"):
        map_siftflow(np.array([[34]]))


def test_msrc_table():
    t = msrc_table()
    label = {c: i for i, c in enumerate(MSRC_CLASSES)}
    for name in ("cow", "horse", "sheep", "bird", "cat", "dog"):
        assert t[label[name]] == C["animal"], name
    assert t[label["face"]] == C["face"] and t[label["body"]] == C["background"]
    assert t[label["flower"]] == t[label["tree"]] == C["plant"] and t[255] == IGNORE
    with pytest.raises(ValueError, match=r"MSRC-v2 labels hold values the dataset does not define: \[30\]"):
        map_msrc(np.array([[30, 0]]))


def test_real_sets_load_with_their_splits_and_categories(data_dir):
    from srkit.data.segmentation import class_counts, load_msrc, load_siftflow, load_stanford
    if not (data_dir / "segmentation" / "StanfordBackground").is_dir():
        pytest.skip(f"no {data_dir}/segmentation/StanfordBackground")
    train, val = load_stanford(data_dir, "train", limit=40), load_stanford(data_dir, "val")
    assert len(val) == 143 and not {s.name.split("/")[-1] for s in train} & {s.name.split("/")[-1] for s in val}
    for samples in (train, val, load_siftflow(data_dir, "test", limit=30), load_msrc(data_dir, limit=30)):
        for s in samples:
            assert s.labels.shape == s.image.shape[:2] and s.labels.min() >= IGNORE and s.labels.max() <= 9
    counts = dict(zip(C, class_counts(val)))
    assert all(counts[c] > 0 for c in ("sky", "water", "grass", "mountain", "building", "plant"))
    msrc = dict(zip(C, class_counts(load_msrc(data_dir))))
    assert msrc["face"] > 0 and msrc["animal"] > 0
    with pytest.raises(ValueError, match="'train' and 'test'"):
        load_siftflow(data_dir, "val")
