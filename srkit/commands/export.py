"""``srkit export onnx --weights x2 -o x2.onnx``: a model's networks as ONNX files.

Writes the generator at ``-o`` and beside it the networks that compute its inputs: the IKC predictor
(``x2.predictor.onnx``, for ``code``) and the segmenter (``x2.segmenter.onnx``, for ``seg``). With
``--code-from IMAGE`` the kernel code srkit estimates for IMAGE (guarded IKC, as ``srkit upscale``
does) is built into the generator and the segmenter runs inside it: one file whose only input is
``lr``, for tools that feed a network one image tensor (vs-mlrt, FFmpeg's dnn_processing).

Each file is run once with ONNX Runtime on a small seeded input and compared with PyTorch; one line
per file names it, its inputs and outputs, and that difference. docs/EXPORT.md describes the files.

Exit codes: 0 written; 2 a problem with the options, the weights or the output (the message names
it), or onnx / onnxruntime missing (the message gives the pip install to run).
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="format", metavar="FORMAT", required=True)
    p = sub.add_parser("onnx", help="generator, IKC predictor and segmenter as .onnx files",
                       description="Write the generator at OUTPUT and the predictor / segmenter beside it "
                                   "(OUTPUT stem + .predictor.onnx / .segmenter.onnx).")
    p.add_argument("--weights", required=True,
                   help="bundled model name (x2, x4, x2_gan, x4_gan, x2_noise) or a .safetensors path")
    p.add_argument("-o", "--output", required=True, type=Path, help="generator file, ending in .onnx")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset, 17-20 (default 17)")
    p.add_argument("--code-from", type=Path, default=None, metavar="IMAGE",
                   help="build the kernel code estimated on this LR image into the generator and run the "
                        "segmenter inside it: a single-input (lr) file")


def _missing_packages() -> list[str]:
    missing = []
    for name in ("onnx", "onnxruntime"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def run(args) -> int:
    from srkit.export.onnx import OPSET_RANGE, PIP_HINT

    missing = _missing_packages()
    if missing:
        print(f"srkit export onnx: error: needs {' and '.join(missing)}; run: {PIP_HINT}", file=sys.stderr)
        return 2
    if args.output.suffix.lower() != ".onnx":
        raise ValueError(f"--output must end in .onnx, got {str(args.output)!r}")
    if not OPSET_RANGE[0] <= args.opset <= OPSET_RANGE[1]:
        raise ValueError(f"--opset must be from {OPSET_RANGE[0]} to {OPSET_RANGE[1]}, got {args.opset}")
    if args.code_from is not None and not args.code_from.is_file():
        raise FileNotFoundError(f"--code-from: no such image: {args.code_from}")

    import torch

    import srkit
    from srkit.checkpoint import resolve
    from srkit.export.onnx import export_pipeline, max_difference

    weights = resolve(args.weights)  # FileNotFoundError naming the bundled models
    pipeline = srkit.load(weights)  # ValueError naming what the file holds when it has no generator
    code = None
    if args.code_from is not None:
        if not pipeline.generator.cfg.use_kernel:
            raise ValueError(f"--code-from: {weights} does not use a kernel code")
        from srkit.imageio import read_image
        from srkit.inference.pipeline import estimate_kernel
        lr = torch.from_numpy(read_image(args.code_from)).permute(2, 0, 1)[None]
        estimate = estimate_kernel(pipeline, lr, name=str(args.code_from), emit=False)
        for message in estimate.messages:
            if message:
                print(f"srkit export onnx: warning: {message}", file=sys.stderr)
        code = estimate.code[0]
    files = export_pipeline(pipeline, args.output, opset=args.opset, code=code,
                            embed_segmenter=code is not None and pipeline.generator.cfg.use_seg)
    for exported in files:
        diff = max_difference(exported, sizes=((24, 20),))
        print(f"{exported.describe()} (opset {exported.opset}; max |ONNX Runtime - PyTorch| {diff:.1e})")
    return 0
