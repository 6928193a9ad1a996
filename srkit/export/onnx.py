"""ONNX export of a model's networks, for ONNX Runtime, TensorRT, VapourSynth vs-mlrt and FFmpeg.

Three files can be written from one ``Pipeline`` (``srkit.load("x2")``), each with a dynamic batch N
and dynamic LR height H and width W (any H, W >= 1), float32, opset 17 by default:

=========  =====================================================  ======================================
file       inputs                                                 output
=========  =====================================================  ======================================
generator  ``lr`` N×3×H×W RGB in [0, 1]; ``code`` N×10 kernel       ``sr`` N×3×(s·H)×(s·W) in [0, 1]
           code (only when the generator uses the kernel);
           ``seg`` N×K×H×W category probabilities (only when it
           uses segmentation; K = 10, ``srkit.categories`` order)
predictor  ``lr`` N×3×H×W in [0, 1]                               ``code`` N×10 (IKC's first estimate h0)
segmenter  ``lr`` N×3×H×W in [0, 1]                               ``seg`` N×K×H×W, sums to 1 over K
=========  =====================================================  ======================================

For tools that feed a network one image tensor only (vs-mlrt, FFmpeg's ``dnn_processing``), the
generator can also be written with a fixed kernel code built in (``code=``) and the segmenter inside
(``embed_segmenter=True``): its only input is then ``lr``.

What the files leave to the caller, compared with ``Pipeline.upscale``: the IKC corrector loop and its
guard (the predictor gives the first estimate h0 only; the code srkit itself would use comes from
``srkit.inference.pipeline.estimate_kernel``), tiling, and the replacement of implausible output
pixels. The bicubic skip of the generator is built from convolutions that reproduce
``srkit.resize.imresize`` (MATLAB's bicubic, symmetric borders) at every input size.

The exporter is torch's TorchScript-based one (``torch.onnx.export(..., dynamo=False)``): it writes
opset 17 directly, needs no package beyond ``onnx``, and its dynamic axes are checked against PyTorch
at two input sizes in tests/test_export_onnx.py. Every file is written to a temporary file beside the
target and renamed at the end, so a failed export never replaces a good file.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from srkit.categories import CATEGORIES
from srkit.imageio import atomic_path
from srkit.resize import _weight_matrix_np

OPSET = 17                       # default: TensorRT 8.6+, ONNX Runtime 1.14+, OpenVINO read it
OPSET_RANGE = (17, 20)           # what torch's TorchScript-based exporter writes
EXAMPLE_SIZE = (40, 36)          # LR height × width of the tracing input (H ≠ W: no axis mix-up)
ROLES = ("generator", "predictor", "segmenter")
PIP_HINT = "pip install 'onnx>=1.15' 'onnxruntime>=1.17'  (in a source checkout: pip install -e '.[onnx]')"
_PAD = 2                         # taps each side of an integer-factor bicubic upscale


@dataclass
class ExportedFile:
    """One ONNX file written by this module.

    Attributes:
        role: "generator", "predictor" or "segmenter".
        path: the file.
        inputs / outputs: name → shape, with "N", "H", "W" (and e.g. "2*H") for the dynamic axes.
        module: the PyTorch module that was traced (same weights), for comparisons.
        opset: the ONNX opset written.
    """
    role: str
    path: Path
    inputs: dict[str, tuple]
    outputs: dict[str, tuple]
    module: nn.Module
    opset: int

    def describe(self) -> str:
        """One line: ``PATH: ROLE, inputs lr N×3×H×W, ... -> sr N×3×2*H×2*W``."""
        def fmt(table):
            return ", ".join(f"{k} {'×'.join(str(d) for d in v)}" for k, v in table.items())
        return f"{self.path}: {self.role}, inputs {fmt(self.inputs)} -> {fmt(self.outputs)}"


# --- the bicubic skip, ONNX-friendly -------------------------------------------------------------

def bicubic_phase_taps(scale: int) -> torch.Tensor:
    """The 5 taps of each of the ``scale`` output phases of MATLAB's bicubic ×scale upscale.

    Output sample s·k + r (0-based) is Σ_t taps[r, t]·x[k + t − 2] with symmetric borders; the taps are
    read off srkit.resize's own weight matrix (an interior row), so both agree by construction.

    Args:
        scale: integer factor, 2, 3 or 4.

    Returns:
        float64 tensor scale×5; each row sums to 1.
    """
    if scale not in (2, 3, 4):
        raise ValueError(f"bicubic_phase_taps: scale must be 2, 3 or 4, got {scale!r}")
    length, k = 16, 8
    matrix = _weight_matrix_np(length, length * scale, float(scale), True)
    rows = matrix[scale * k:scale * k + scale]
    taps = rows[:, k - _PAD:k + _PAD + 1]
    if not np.allclose(rows.sum(axis=1), taps.sum(axis=1), atol=1e-12):
        raise AssertionError(f"MATLAB bicubic ×{scale} reaches beyond {_PAD} taps per side")
    return torch.from_numpy(taps.copy())


def symmetric_indices(length, device=None) -> torch.Tensor:
    """Indices 0…length−1 of an axis padded by 2 each side with MATLAB's 'symmetric' rule
    (−1 → 0, −2 → 1, length → length−1); exact for every length >= 1. ``length`` may be a traced
    size, so the exported graph computes the indices from the input's shape."""
    idx = torch.arange(-_PAD, length + _PAD, device=device)
    idx = torch.where(idx < 0, -1 - idx, torch.where(idx >= length, 2 * length - 1 - idx, idx))
    return idx.clamp(0, length - 1)  # length 1: every index is 0


class BicubicUpsample(nn.Module):
    """``srkit.resize.imresize(x, scale=s)`` for integer s as two depthwise convolutions (one per
    axis, s output phases each, interleaved): exports to plain ONNX ops at every input size.

    Args:
        scale: 2, 3 or 4.
        channels: C of the N×C×H×W inputs (default 3).
    """

    def __init__(self, scale: int, channels: int = 3):
        super().__init__()
        taps = bicubic_phase_taps(scale).float()          # s×5
        self.scale, self.channels = scale, channels
        bank = taps.repeat(channels, 1)                   # (C·s)×5, channel-major
        self.register_buffer("taps_h", bank.view(channels * scale, 1, 2 * _PAD + 1, 1), persistent=False)
        self.register_buffer("taps_w", bank.view(channels * scale, 1, 1, 2 * _PAD + 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x N×C×H×W → N×C×(s·H)×(s·W), float32, values not clipped."""
        n, c, h, w = x.shape
        s = self.scale
        y = F.conv2d(x.index_select(2, symmetric_indices(h, x.device)), self.taps_h, groups=c)
        y = y.view(n, c, s, h, w).permute(0, 1, 3, 2, 4).reshape(n, c, h * s, w)
        y = F.conv2d(y.index_select(3, symmetric_indices(w, x.device)), self.taps_w, groups=c)
        return y.view(n, c, s, h * s, w).permute(0, 1, 3, 4, 2).reshape(n, c, h * s, w * s)


# --- the traced modules --------------------------------------------------------------------------

class GeneratorGraph(nn.Module):
    """The generator as exported: ``forward(*inputs)`` with the inputs of ``input_names``.

    Same weights as the SFTGenerator it wraps and the same arithmetic as ``SFTGenerator.forward``,
    with the bicubic skip computed by ``BicubicUpsample``.

    Args:
        generator: an ``srkit.models.sft.SFTGenerator``.
        code: a fixed kernel code (b values) to build in; then there is no ``code`` input.
        segnet: a SegNet to run inside on ``lr``; then there is no ``seg`` input.
        clamp: clamp ``sr`` to [0, 1] as ``Pipeline.upscale`` does (default True).
    """

    def __init__(self, generator: nn.Module, code: torch.Tensor | None = None,
                 segnet: nn.Module | None = None, clamp: bool = True):
        super().__init__()
        self.generator, self.segnet, self.clamp = generator, segnet, clamp
        cfg = generator.cfg
        self.bicubic = BicubicUpsample(cfg.scale) if cfg.residual else None
        self.register_buffer("fixed_code", None if code is None else code.reshape(1, -1).float(), persistent=False)
        names = ["lr"]
        if cfg.use_kernel and code is None:
            names.append("code")
        if cfg.use_seg and segnet is None:
            names.append("seg")
        self.input_names = tuple(names)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        given = dict(zip(self.input_names, inputs))
        lr = given["lr"]
        g, cfg = self.generator, self.generator.cfg
        code = seg = None
        if cfg.use_kernel:
            code = given["code"] if self.fixed_code is None else self.fixed_code.expand(lr.shape[0], -1)
        if cfg.use_seg:
            seg = given["seg"] if self.segnet is None else self.segnet(lr)
        x = g.head(lr)
        y = x
        for block in g.blocks:
            y = block(y, code, seg)
        y = x + g.trunk_conv(F.relu(g.trunk_sft(y, code, seg)))
        out = g.tail(g.upsample(y))
        if self.bicubic is not None:
            out = out + self.bicubic(lr)
        return out.clamp(0, 1) if self.clamp else out


class PredictorGraph(nn.Module):
    """The IKC predictor as exported: lr N×3×H×W → code N×b (mean pool, the trained default)."""

    def __init__(self, predictor: nn.Module):
        super().__init__()
        self.predictor = predictor

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return self.predictor.body(lr).mean(dim=(2, 3))


class SegmenterGraph(nn.Module):
    """The segmenter as exported: lr N×3×H×W → probabilities N×K×H×W."""

    def __init__(self, segnet: nn.Module):
        super().__init__()
        self.segnet = segnet

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return self.segnet(lr)


# --- argument checks -----------------------------------------------------------------------------

def _unwrap(module):
    return getattr(module, "_orig_mod", module)  # torch.compile


def _generator_of(pipeline) -> nn.Module:
    from srkit.models.sft import SFTGenerator

    generator = _unwrap(getattr(pipeline, "generator", None))
    if not isinstance(generator, SFTGenerator):
        raise ValueError(f"expected a srkit Pipeline (srkit.load('x2')) with an SFTGenerator, got "
                         f"{type(pipeline).__name__}" + ("" if generator is None else f" whose generator is "
                                                         f"{type(generator).__name__}"))
    return generator


def _check_path(path) -> Path:
    if not isinstance(path, (str, Path)) or not str(path):
        raise ValueError(f"output path must be a file name ending in .onnx, got {path!r}")
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise ValueError(f"output path must end in .onnx, got {str(path)!r}")
    if path.is_dir():
        raise ValueError(f"output path {str(path)!r} is a folder; give a file name ending in .onnx")
    return path


def _check_opset(opset) -> int:
    lo, hi = OPSET_RANGE
    if isinstance(opset, bool) or not isinstance(opset, int) or not lo <= opset <= hi:
        raise ValueError(f"opset must be an integer from {lo} to {hi}, got {opset!r}")
    return opset


def _check_code(code, code_len: int) -> torch.Tensor:
    try:
        t = torch.as_tensor(code, dtype=torch.float32).detach().cpu()
    except (TypeError, ValueError, RuntimeError) as e:
        raise ValueError(f"code must be {code_len} numbers, got {code!r}") from e
    if t.dim() == 2 and t.shape[0] == 1:
        t = t[0]
    if t.shape != (code_len,):
        raise ValueError(f"code must hold {code_len} numbers (shape ({code_len},) or (1, {code_len})), "
                         f"got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"code must be finite, got {t.tolist()}")
    return t


def companion_path(path: str | Path, role: str) -> Path:
    """Where ``export_pipeline`` puts the predictor and the segmenter beside the generator file:
    ``x2.onnx`` → ``x2.predictor.onnx``, ``x2.segmenter.onnx``."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    path = Path(path)
    return path if role == "generator" else path.with_name(f"{path.stem}.{role}{path.suffix}")


# --- writing -------------------------------------------------------------------------------------

def require_onnx():
    """Import and return the ``onnx`` package, or raise ImportError naming the pip install."""
    try:
        import onnx
    except ImportError as e:
        raise ImportError(f"ONNX export needs the onnx package: {PIP_HINT}") from e
    return onnx


@torch.no_grad()
def _write(module: nn.Module, role: str, path: Path, example: tuple[torch.Tensor, ...],
           inputs: dict[str, tuple], outputs: dict[str, tuple], opset: int, meta: dict) -> ExportedFile:
    onnx = require_onnx()
    dynamic = {name: {i: d for i, d in enumerate(shape) if isinstance(d, str)}
               for name, shape in {**inputs, **outputs}.items()}
    was_training = {m: m.training for m in module.modules()}
    module.eval()
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings():
            # The TorchScript-based exporter announces its deprecation on every call, and tracing
            # notes every shape check in the networks' forward (they hold for any N, H, W).
            warnings.filterwarnings("ignore", message=r".*legacy TorchScript-based ONNX export")
            warnings.filterwarnings("ignore", message=r"The feature will be removed")
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            torch.onnx.export(module, example, str(tmp), dynamo=False, opset_version=opset,
                              input_names=list(inputs), output_names=list(outputs), dynamic_axes=dynamic,
                              do_constant_folding=True)
            model = onnx.load(str(tmp))
            for value in model.graph.output:   # name every output axis (the tracer leaves some unnamed)
                dims = value.type.tensor_type.shape.dim
                for dim, want in zip(dims, outputs[value.name]):
                    if isinstance(want, str):
                        dim.dim_param = want
                    else:
                        dim.dim_value = want
            for key, value in {"srkit.role": role, **meta}.items():
                entry = model.metadata_props.add()
                entry.key, entry.value = key, value if isinstance(value, str) else json.dumps(value)
            onnx.checker.check_model(model)
            onnx.save(model, str(tmp))
    finally:
        for m, flag in was_training.items():
            m.train(flag)
    return ExportedFile(role, path, inputs, outputs, module, opset)


def _example(device, n: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 3, *EXAMPLE_SIZE, generator=g).to(device)


def generator_graph(pipeline, code=None, embed_segmenter: bool = False, clamp: bool = True) -> GeneratorGraph:
    """The module ``export_generator`` traces (arguments as there), for comparisons in PyTorch."""
    generator = _generator_of(pipeline)
    cfg = generator.cfg
    fixed = None
    if code is not None:
        if not cfg.use_kernel:
            raise ValueError("code= given, but this generator does not use the kernel code")
        fixed = _check_code(code, cfg.code_len).to(next(generator.parameters()).device)
    segnet = None
    if embed_segmenter:
        if not cfg.use_seg:
            raise ValueError("embed_segmenter=True, but this generator does not use segmentation")
        segnet = _unwrap(getattr(pipeline, "segnet", None))
        if segnet is None:
            raise ValueError("embed_segmenter=True, but this pipeline has no segnet")
    return GeneratorGraph(generator, fixed, segnet, clamp)


def export_generator(pipeline, path: str | Path, *, code=None, embed_segmenter: bool = False,
                     clamp: bool = True, opset: int = OPSET) -> ExportedFile:
    """Write the generator G(lr | code, seg) as an ONNX file.

    Args:
        pipeline: a ``Pipeline`` (``srkit.load("x2")``; any device, exported as float32).
        path: the .onnx file to write (folders are created; an existing file is replaced only once
            the new one is complete).
        code: optional fixed kernel code, b = 10 numbers (e.g. ``estimate_kernel(pipeline, lr).code[0]``)
            built into the file, which then has no ``code`` input. Default: a ``code`` input N×10.
        embed_segmenter: run the pipeline's segnet inside the file on ``lr`` (no ``seg`` input).
            Default False: a ``seg`` input N×K×H×W.
        clamp: clamp ``sr`` to [0, 1] (default True, as ``Pipeline.upscale``); False gives the raw
            network output, like ``SFTGenerator.forward``.
        opset: ONNX opset, 17–20 (default 17).

    Returns:
        An ``ExportedFile``. Inputs: ``lr`` N×3×H×W float32 in [0, 1], then ``code`` N×10 (when the
        generator uses the kernel and no ``code`` is built in), then ``seg`` N×K×H×W probabilities at
        LR size, channels in ``srkit.categories.CATEGORIES`` order (when it uses segmentation and
        the segmenter is not embedded). Output ``sr`` N×3×(s·H)×(s·W).

    Raises:
        ValueError: not a Pipeline, a path not ending in .onnx, an opset outside 17–20, a code of the
            wrong length, or an option the generator does not use.
        ImportError: the onnx package is missing (the message says what to install).
    """
    path, opset = _check_path(path), _check_opset(opset)
    graph = generator_graph(pipeline, code, embed_segmenter, clamp)
    cfg = graph.generator.cfg
    s, device = cfg.scale, next(graph.generator.parameters()).device
    lr = _example(device)
    shapes = {"lr": ("N", 3, "H", "W"), "code": ("N", cfg.code_len), "seg": ("N", cfg.num_classes, "H", "W")}
    g = torch.Generator().manual_seed(1)
    examples = {"lr": lr, "code": (0.3 * torch.randn(1, cfg.code_len, generator=g)).to(device),
                "seg": torch.randn(1, cfg.num_classes, *EXAMPLE_SIZE, generator=g).softmax(1).to(device)}
    inputs = {k: shapes[k] for k in graph.input_names}
    meta = {"srkit.scale": s, "srkit.variant": cfg.variant, "srkit.clamped": clamp,
            "srkit.categories": list(CATEGORIES) if "seg" in inputs else [],
            "srkit.code": [] if graph.fixed_code is None else graph.fixed_code[0].tolist()}
    return _write(graph, "generator", path, tuple(examples[k] for k in graph.input_names), inputs,
                  {"sr": ("N", 3, f"{s}*H", f"{s}*W")}, opset, meta)


def export_predictor(pipeline, path: str | Path, *, opset: int = OPSET) -> ExportedFile:
    """Write the IKC predictor P as an ONNX file: ``lr`` N×3×H×W float32 in [0, 1] → ``code`` N×10.

    The code is P's mean-pooled estimate h0, IKC's starting point; srkit's own estimate refines it with
    the corrector and its guard (``srkit.inference.pipeline.estimate_kernel``). Arguments and errors
    as in ``export_generator``; ValueError also when the pipeline has no predictor.
    """
    path, opset = _check_path(path), _check_opset(opset)
    _generator_of(pipeline)
    predictor = _unwrap(getattr(pipeline, "predictor", None))
    if predictor is None:
        raise ValueError("this pipeline has no IKC predictor to export")
    graph = PredictorGraph(predictor)
    lr = _example(next(predictor.parameters()).device)
    return _write(graph, "predictor", path, (lr,), {"lr": ("N", 3, "H", "W")},
                  {"code": ("N", predictor.cfg.code_len)}, opset, {"srkit.pool": "mean"})


def export_segmenter(pipeline, path: str | Path, *, opset: int = OPSET) -> ExportedFile:
    """Write the segmenter S as an ONNX file: ``lr`` N×3×H×W float32 in [0, 1] → ``seg`` N×K×H×W
    probabilities (sum 1 over K; channels in ``srkit.categories.CATEGORIES`` order). Arguments and
    errors as in ``export_generator``; ValueError also when the pipeline has no segnet."""
    path, opset = _check_path(path), _check_opset(opset)
    _generator_of(pipeline)
    segnet = _unwrap(getattr(pipeline, "segnet", None))
    if segnet is None:
        raise ValueError("this pipeline has no segnet to export")
    graph = SegmenterGraph(segnet)
    lr = _example(next(segnet.parameters()).device)
    k = segnet.cfg.num_classes
    return _write(graph, "segmenter", path, (lr,), {"lr": ("N", 3, "H", "W")},
                  {"seg": ("N", k, "H", "W")}, opset, {"srkit.categories": list(CATEGORIES)})


def export_pipeline(pipeline, path: str | Path, *, opset: int = OPSET, code=None,
                    embed_segmenter: bool = False) -> list[ExportedFile]:
    """Write the generator at ``path`` and, beside it, each network that computes one of its inputs:
    the predictor (``x2.predictor.onnx``) when the generator takes ``code``, the segmenter
    (``x2.segmenter.onnx``) when it takes ``seg``. ``code`` and ``embed_segmenter`` as in
    ``export_generator`` (a built-in code or segmenter makes that companion file unnecessary).

    Returns:
        The files written, generator first.
    """
    path, opset = _check_path(path), _check_opset(opset)
    written = [export_generator(pipeline, path, code=code, embed_segmenter=embed_segmenter, opset=opset)]
    needs = written[0].inputs
    if "code" in needs:
        written.append(export_predictor(pipeline, companion_path(path, "predictor"), opset=opset))
    if "seg" in needs:
        written.append(export_segmenter(pipeline, companion_path(path, "segmenter"), opset=opset))
    return written


# --- checking ------------------------------------------------------------------------------------

def random_inputs(exported: ExportedFile, size: tuple[int, int] = (24, 20), batch: int = 1,
                  seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded inputs for ``exported`` at LR size ``size`` (height, width >= 1): ``lr`` uniform in
    [0, 1], ``code`` normal with σ 0.3, ``seg`` softmax of normal noise. float32 numpy arrays."""
    h, w = size
    if min(h, w, batch) < 1:
        raise ValueError(f"size and batch must be >= 1, got size={size}, batch={batch}")
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in exported.inputs.items():
        dims = [batch if d == "N" else h if d == "H" else w if d == "W" else d for d in shape]
        if name == "lr":
            t = torch.rand(*dims, generator=g)
        elif name == "code":
            t = 0.3 * torch.randn(*dims, generator=g)
        else:
            t = torch.randn(*dims, generator=g).softmax(1)
        out[name] = t.numpy()
    return out


def onnxruntime_session(path: str | Path, threads: int = 1):
    """An ONNX Runtime CPU session for ``path`` with ``threads`` intra-op threads (>= 1; default 1)."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise ImportError(f"running ONNX files needs onnxruntime: {PIP_HINT}") from e
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@torch.no_grad()
def max_difference(exported: ExportedFile, sizes: Sequence[tuple[int, int]] = ((24, 20),), seed: int = 0,
                   threads: int = 1) -> float:
    """Largest absolute difference between ONNX Runtime (CPU) on the file and the traced PyTorch
    module, over seeded random inputs at each LR size of ``sizes``. float32 agreement is ~1e-6."""
    session = onnxruntime_session(exported.path, threads)
    module = exported.module
    device = next(module.parameters()).device
    worst = 0.0
    for i, size in enumerate(sizes):
        feed = random_inputs(exported, size, seed=seed + i)
        got = session.run(None, feed)[0]
        want = module(*(torch.from_numpy(feed[k]).to(device) for k in exported.inputs)).float().cpu().numpy()
        if got.shape != want.shape:
            raise ValueError(f"{exported.path}: ONNX Runtime gave shape {got.shape}, PyTorch {want.shape}")
        worst = max(worst, float(np.abs(got - want).max()))
    return worst
