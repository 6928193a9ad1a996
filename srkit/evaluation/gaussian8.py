"""Trained-model methods for the Gaussian8 benchmark (``srkit bench gaussian8 --weights``).

For each LR image a pipeline reports: ``bicubic``; ``true_kernel`` (the generator given the
code of the true kernel: the upper bound of kernel estimation); ``ikc_t0`` … ``ikc_tT`` (t0 is the
predictor alone, then each corrector step) and ``ikc`` (the fixed step ``steps``; never a
per-image best step chosen with the ground truth). A generator without the kernel condition
(SRResNet, SFT-GAN of the ablation set) reports ``bicubic`` and ``sr`` only. Per step, the mean absolute code error is
collected in ``extra['code_error'][scale]`` and the mean signed error of the kernel width,
σ(decoded code) − σ (``srkit.kernels.kernel_width``; > 0: the estimate is too blurry), in
``extra['width_error'][scale]``. The code error also counts directions that change the kernel's
shape but not its width; the width error says whether the estimate is too sharp or too blurry.
``extra['guard_events'][scale]`` counts the LR images the IKC guard (``srkit.inference.guard``) acted on, by
status, and the SR pixels it replaced: all zero on ordinary benchmark images.
``extra['iso_width_error'][scale]`` is the same for the σ of the nearest isotropic Gaussian code
(``KernelPCA.isotropic_width``): a code with a narrow core and wide tails can have the right second
moment and still act on the generator like a sharper kernel; this one shows it.
"""
from __future__ import annotations

import numpy as np
import torch

from srkit.imageio import to_uint8
from srkit.kernels import gaussian_kernel, kernel_width
from srkit.resize import imresize_np


def _to_uint8(t: torch.Tensor) -> np.ndarray:
    return to_uint8(t[0].detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy())


class PipelineMethod:
    """A Gaussian8 Method (see srkit.evaluation.bench) running ``pipeline`` (srkit.inference.pipeline.Pipeline).

    A class rather than a closure so that it pickles: ``run_gaussian8_bench(workers=N)`` sends it to
    its worker processes. ``precision``: 'fp32' (default: the published-protocol figures) or 'bf16' /
    'auto' (``srkit.precision``): every network pass, kernel estimate included, in bf16 autocast; only
    for quick looks (``srkit bench gaussian8 --fast``), and the JSON says which precision ran.
    """

    def __init__(self, pipeline, steps: int = 7, device: str = "cpu", precision: str = "fp32"):
        from srkit.precision import resolve
        if not 0 <= steps <= 20:
            raise ValueError(f"steps must be in [0, 20], got {steps}")
        self.pipeline = pipeline.to(device).eval()
        self.steps, self.n_steps, self.device = steps, max(steps, 7), device
        self.precision = resolve(precision, device)

    @torch.no_grad()
    def __call__(self, lr: np.ndarray, scale: int, context: dict) -> dict[str, np.ndarray]:
        from srkit.precision import autocast
        context["extra"]["precision"] = self.precision
        bicubic = imresize_np(lr, scale)  # the baseline stays exact: outside autocast (its resize uses matmuls)
        with autocast(self.device, self.precision):
            return {"bicubic": bicubic, **self._run(lr, scale, context)}

    def _run(self, lr: np.ndarray, scale: int, context: dict) -> dict[str, np.ndarray]:
        pipeline, device, steps = self.pipeline, self.device, self.steps
        if scale != pipeline.scale:
            raise ValueError(f"checkpoint is for x{pipeline.scale}, benchmark asks x{scale}")
        x = torch.from_numpy(lr).permute(2, 0, 1).unsqueeze(0).float().div(255).to(device)
        seg = pipeline.segment(x)
        if seg is not None:  # ψ depends on the LR alone: its share of every SFT layer is computed once
            seg = pipeline.generator.seg_terms(seg)
        out = {}
        if not pipeline.generator.cfg.use_kernel:  # SRResNet, SFT-GAN: no kernel to estimate
            out["sr"] = _to_uint8(pipeline.upscale(x, seg=seg, name=f"{context.get('set', 'image')} (sigma {context['sigma']:.2f})"))
            return out
        true_code = pipeline.pca.encode(gaussian_kernel(context["sigma"]).unsqueeze(0).to(pipeline.pca.matrix.device))
        true_code = true_code.to(device).float()
        out["true_kernel"] = _to_uint8(pipeline.generator(x, true_code, seg))
        result = pipeline.ikc(x, steps=self.n_steps, seg=seg)  # guarded (srkit.inference.guard): events counted
        events = context["extra"].setdefault("guard_events", {}).setdefault(
            str(scale), {"images": 0, "robust": 0, "projected": 0, "stopped": 0, "nonfinite": 0,
                         "sr_pixels_replaced": 0})
        events["images"] += 1
        for status in result.status:
            if status in events:
                events[status] += 1
        events["sr_pixels_replaced"] += sum(result.sr_replaced)
        for t, sr in enumerate(result.srs):
            out[f"ikc_t{t}"] = _to_uint8(sr)
        out["ikc"] = out[f"ikc_t{steps}"]
        codes = [c.float() for c in result.codes]
        errors = [float((c - true_code).abs().mean()) for c in codes]
        context["extra"].setdefault("code_error", {}).setdefault(str(scale), []).append(errors)
        widths = kernel_width(pipeline.pca.decode(torch.cat(codes)))
        context["extra"].setdefault("width_error", {}).setdefault(str(scale), []).append(
            (widths - context["sigma"]).tolist())
        iso = pipeline.pca.isotropic_width(torch.cat(codes))
        context["extra"].setdefault("iso_width_error", {}).setdefault(str(scale), []).append(
            (iso - context["sigma"]).tolist())
        return out


def pipeline_method(pipeline, steps: int = 7, device: str = "cpu", precision: str = "fp32") -> PipelineMethod:
    """The Gaussian8 method of ``pipeline`` (see :class:`PipelineMethod`)."""
    return PipelineMethod(pipeline, steps, device, precision)


def methods_from_weights(weights: list[str], scales: list[int], steps: int = 7, device: str = "cpu",
                         precision: str = "fp32"):
    """Map each requested scale to a pipeline method; bicubic only when no weights are given."""
    if not weights:
        return None
    from srkit.checkpoint import load_checkpoint, resolve
    from srkit.inference.pipeline import Pipeline
    methods = {}
    for w in weights:
        ckpt = load_checkpoint(resolve(w), device)
        # a Pipeline even for a file holding a generator alone (srkit.load would return the bare network)
        p = Pipeline.from_checkpoint(ckpt) if "generator" in ckpt.modules else next(iter(ckpt.modules.values()))
        if not hasattr(p, "ikc"):
            raise ValueError(f"{w}: Gaussian8 needs a pipeline checkpoint (generator, and P and C for a "
                             f"kernel-conditioned one), got a {type(p).__name__}")
        if p.generator.cfg.use_kernel and p.predictor is None:
            raise ValueError(f"{w}: its generator needs the kernel code but the file has no IKC predictor")
        methods[p.scale] = pipeline_method(p, steps=steps, device=device, precision=precision)
    missing = [s for s in scales if s not in methods]
    if missing:
        raise ValueError(f"no weights for scale(s) {missing}; given {weights} (scales {sorted(methods)})")
    return methods
