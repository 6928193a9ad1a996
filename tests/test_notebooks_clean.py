"""Committed notebooks carry no outputs and no execution counts, and follow the notebook conventions."""
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
WIDGET_LINE = re.compile(r"^(explorer|stepper|panel|cats|\w*(Explorer|Stepper|Panel)\(.*\))$")
EXPECTED = ["00_tour", "01_dataset_building", "02_segmentation_pretraining", "03_ikc_alternating_training",
            "04_sftgan_training", "05_ablations", "06_video"]


def test_all_notebooks_present():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert cell.get("outputs") == [], f"{path.name}: cell {i} has outputs; strip them before committing"
        assert cell.get("execution_count") is None, f"{path.name}: cell {i} has an execution count"
    assert "widgets" not in nb.get("metadata", {}), f"{path.name}: widget state saved in the metadata"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_conventions(path):
    nb = json.loads(path.read_text())
    first = nb["cells"][0]
    assert first["cell_type"] == "code" and "parameters" in first.get("metadata", {}).get("tags", [])
    assert 'SMOKE = os.environ.get("SRKIT_SMOKE") == "1"' in "".join(first["source"])
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert any("figure_formats = ['png']" in c for c in code)
    assert any("assert " in c for c in code), f"{path.name}: no assert cell"
    for src in code:
        assert not src.lstrip().startswith(("def ", "class ")), f"{path.name}: library code belongs in srkit"
        last = src.rstrip().split("\n")[-1].strip()
        if WIDGET_LINE.match(last):  # the cell displays a widget
            assert src.startswith("# NBVAL_IGNORE_OUTPUT"), f"{path.name}: widget cell without NBVAL_IGNORE_OUTPUT"
