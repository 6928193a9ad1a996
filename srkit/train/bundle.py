"""Assemble the bundled pipelines (``assets/weights/x<s>.safetensors``) from srkit training runs.

The training stages write one checkpoint each (seg → sftmd → ikc, and sftgan from the sftmd
generator). A shipped pipeline is the IKC run's networks (segnet, generator, predictor, corrector,
PCA); the GAN variant swaps in the sftgan generator. Weights are stored as fp16 to keep
``assets/weights`` small; they load back as fp32.

``--generator`` swaps in the generator of any other run of the same architecture (for example an
sftmd run with ``code_noise``); with ``--fp32`` the result is a full-precision ``--init-from`` for
a further ikc stage that trains P and C against that generator. ``--segmenter`` swaps in a
segmenter file (``assets/weights/segmenters``); ``--ikc`` may also be a shipped bundle, whose
metadata is kept, so a bundle is re-made on another segmenter's maps in one command.

Usage::

    python -m srkit.train.bundle --ikc runs/ikc-x2/model.safetensors --name x2 \
        [--gan runs/sftgan-x2/model.safetensors | --generator runs/sftmd-x2/model.safetensors] \
        [--segmenter assets/weights/segmenters/lite0_x2.safetensors] [--fp32] [--out assets/weights]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from srkit.checkpoint import load_checkpoint, save_checkpoint, save_pipeline
from srkit.inference.pipeline import Pipeline

PIPELINE_MODULES = ("segnet", "generator", "predictor", "corrector")


def _run_provenance(ckpt_path: Path) -> dict:
    """What a run says about itself: its config and last logged figures (log.json beside the file)."""
    log = ckpt_path.parent / "log.json"
    info = {"checkpoint": str(ckpt_path)}
    if log.is_file():
        data = json.loads(log.read_text())
        info["log"] = data if isinstance(data, dict) else {"records": data[-1:]}
    return info


def assemble(ikc_path: str | Path, gan_path: str | Path | None = None, stage: str = "sftgan",
             segmenter: str | Path | None = None) -> Pipeline:
    """A Pipeline from an IKC run (or a bundle), optionally with the generator of another run
    (``stage`` names that run in the metadata: 'sftgan' by default) and the SegNet of a segmenter
    file (``segmenter``: its provenance goes to ``meta['segmenter']``)."""
    ikc = load_checkpoint(ikc_path)
    g = ikc.modules.get("generator")
    # a generator without the segmentation condition (SFTMD) needs no segnet
    needed = [m for m in PIPELINE_MODULES if m != "segnet" or g is None or g.cfg.use_seg]
    missing = [m for m in needed if m not in ikc.modules]
    if missing or ikc.pca is None:
        raise ValueError(f"{ikc_path}: an IKC pipeline needs {tuple(needed)} and a PCA; missing {missing}")
    modules = {m: ikc.modules[m] for m in PIPELINE_MODULES if m in ikc.modules}
    # a shipped bundle already says where its networks came from: keep that, add to it
    meta = dict(ikc.meta) if "stages" in ikc.meta else {"stages": {"ikc": _run_provenance(Path(ikc_path))}}
    if gan_path is not None:
        gan = load_checkpoint(gan_path)
        g = gan.modules.get("generator")
        if g is None or g.cfg != modules["generator"].cfg:
            raise ValueError(f"{gan_path}: its generator does not match the IKC run's architecture")
        modules["generator"] = g
        meta["stages"][stage] = _run_provenance(Path(gan_path))
    if segmenter is not None:
        seg = load_checkpoint(segmenter)
        net = seg.modules.get("segnet")
        if net is None or modules["generator"].cfg.use_seg is False:
            raise ValueError(f"{segmenter}: needs a file holding a segnet and a generator that uses "
                             f"segmentation (file holds {sorted(seg.modules)})")
        if seg.trained_scale not in (None, modules["generator"].cfg.scale):
            raise ValueError(f"{segmenter} was trained on x{seg.trained_scale} LR; the generator is "
                             f"x{modules['generator'].cfg.scale}")
        modules["segnet"] = net
        meta["segmenter"] = {"file": Path(segmenter).name, **{k: v for k, v in seg.meta.items() if k == "stages"}}
    return Pipeline(**modules, pca=ikc.pca, meta=meta)


def save_segmenter(seg_path: str | Path, out: str | Path, meta: dict | None = None) -> Path:
    """Write a seg run's SegNet alone to ``out`` (fp16, with the run's provenance and the scale it
    was trained for): a segmenter that ``srkit bench segmentation --weights`` and ``srkit.load`` read."""
    seg = load_checkpoint(seg_path)
    if "segnet" not in seg.modules:
        raise ValueError(f"{seg_path} holds no segmenter (networks: {sorted(seg.modules)})")
    meta = {**(meta or {}), "stages": {"segmenter": _run_provenance(Path(seg_path))}}
    return save_checkpoint(out, {"segnet": seg.modules["segnet"]}, meta=meta, half=True, scale=seg.trained_scale)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ikc", required=True, type=Path)
    swap = ap.add_mutually_exclusive_group()
    swap.add_argument("--gan", type=Path, help="take the generator of this sftgan run")
    swap.add_argument("--generator", type=Path, help="take the generator of this run (same architecture)")
    ap.add_argument("--segmenter", type=Path, help="take the segnet of this segmenter file")
    ap.add_argument("--fp32", action="store_true", help="store full precision (an init for further training)")
    ap.add_argument("--name", required=True, help="bundled name, e.g. x2 or x2_gan")
    ap.add_argument("--out", type=Path, default=Path("assets/weights"))
    ap.add_argument("--meta", type=Path, help="JSON file merged into the metadata (training notes, metrics)")
    args = ap.parse_args(argv)
    pipe = assemble(args.ikc, args.gan or args.generator, "sftgan" if args.gan else "generator", args.segmenter)
    extra = json.loads(args.meta.read_text()) if args.meta else {}
    path = save_pipeline(pipe, args.out / f"{args.name}.safetensors", meta={"name": args.name, **extra}, half=not args.fp32)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
