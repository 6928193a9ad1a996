"""Does the semantic condition help? The four generator variants, per category, on held-out scenes.

For each held-out image of ``srkit.evaluation.segmentation.heldout_sets`` (Stanford val, SIFT Flow
test, face/text composites), HR is modcropped to the scale and degraded like Gaussian8: image i
gets the i mod 8-th Gaussian8 width, MATLAB bicubic ↓s, uint8 LR. Every variant then upscales it
through ``Pipeline.upscale`` (the guarded inference path):

- SRResNet and SFT-GAN need no kernel; SFTMD and SFTconcat get the code of the true kernel
  (``kernel='true'``: the comparison of the conditions without the estimator's error) or IKC's
  estimate (``kernel='ikc'``, when the bundle has P and C);
- the segmentation variants get ψ three ways (the probe of the condition): ``predicted`` (their
  own segmenter on the LR), ``true`` (the one-hot LR label map; pixels without a label get the
  uniform distribution), ``uniform`` (1/K everywhere: the condition carries no information).

Per category (pixels whose HR label is that category; ``all`` is every pixel), pooled over a
set: PSNR of the pooled squared error on Y (shave = scale), the mean of the SSIM map, and the
texture ratio: SR to HR energy of Y minus its σ = 1 Gaussian blur (``srkit.metrics.high_frequency``;
1.0 matches HR, < 1 is over-smooth). Pooled, so a category that covers few pixels of many images
is not dominated by one image's tiny region.

``srkit bench ablation --data $SRKIT_DATA --weights-dir assets/weights/ablation`` runs it.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from srkit.categories import CATEGORIES, NUM_CATEGORIES
from srkit.data.label_maps import IGNORE
from srkit.degrade import degrade_uint8
from srkit.evaluation.segmentation import lr_label_map, modcrop_sample
from srkit.imageio import as_tensor, to_uint8
from srkit.kernels import gaussian8_sigmas, gaussian_kernel
from srkit.metrics import crop_like_ssim_map, high_frequency, rgb_to_y, ssim_map
from srkit.resize import imresize_np

VARIANTS = ("srresnet", "sftmd", "sftgan", "sftconcat")
# The GAN stage of the kernel variants (recipes/ablation_x2_gan.toml): loaded when asked for by name.
GAN_VARIANTS = ("sftmd_gan", "sftconcat_gan")
MAPS = ("predicted", "true", "uniform")


def ablation_folder():
    """The bundled ablation set's folder (``srkit.paths.ABLATION_DIR``: ``assets/weights/ablation``)."""
    from srkit.paths import ABLATION_DIR
    return ABLATION_DIR


def load_variants(folder=None, variants=VARIANTS, device: str = "cpu") -> dict:
    """{variant: Pipeline} of the bundles ``folder/<variant>.safetensors`` that exist (default
    folder: the bundled ``assets/weights/ablation``); ``variants`` from ``VARIANTS`` and
    ``GAN_VARIANTS``."""
    from pathlib import Path

    from srkit.checkpoint import load_checkpoint
    from srkit.inference.pipeline import Pipeline
    if folder is None:
        folder = ablation_folder()
    unknown = sorted(set(variants) - set(VARIANTS) - set(GAN_VARIANTS))
    if unknown:
        raise ValueError(f"unknown variants {unknown}; choose from {VARIANTS + GAN_VARIANTS}")
    out = {}
    for v in variants:
        path = Path(folder) / f"{v}.safetensors"
        if path.is_file():
            out[v] = Pipeline.from_checkpoint(load_checkpoint(path, device)).eval()
    if not out:
        raise FileNotFoundError(f"no ablation bundles ({', '.join(variants)}.safetensors) in {folder}")
    return out


def degraded_scene(sample, index: int, scale: int):
    """(HR uint8, LR uint8, HR labels, LR labels, σ) of a SegSample: Gaussian8 width index mod 8."""
    hr, labels = modcrop_sample(sample, scale)
    sigma = gaussian8_sigmas(scale)[index % 8]
    lr = degrade_uint8(hr, scale, sigma=sigma, seed=index)
    return hr, lr, labels, lr_label_map(labels, scale), sigma


def condition(which: str, pipe, x: torch.Tensor, lr_labels: np.ndarray) -> torch.Tensor:
    """ψ 1×K×h×w for the probe: 'predicted' (the pipeline's segmenter), 'true' or 'uniform'."""
    if which == "predicted":
        return pipe.segment(x)
    if which == "uniform":
        return torch.full((1, NUM_CATEGORIES, *x.shape[-2:]), 1.0 / NUM_CATEGORIES, device=x.device)
    if which == "true":
        lab = torch.from_numpy(lr_labels).to(x.device)
        known = lab != IGNORE
        psi = torch.nn.functional.one_hot(lab.clamp(0, NUM_CATEGORIES - 1), NUM_CATEGORIES).permute(2, 0, 1).float()
        psi = torch.where(known[None], psi, torch.full_like(psi, 1.0 / NUM_CATEGORIES))
        return psi[None]
    raise ValueError(f"unknown segmentation condition {which!r}; choose from {MAPS}")


class CategoryStats:
    """Pooled per-category sums of one method on one set (squared error, SSIM, detail energy)."""

    def __init__(self):
        self.sums: dict[str, np.ndarray] = {}
        self.per_image: list[float] = []  # PSNR of each whole image, for paired differences

    def add(self, sr: np.ndarray, hr: np.ndarray, labels: np.ndarray, shave: int) -> None:
        a, b = rgb_to_y(sr), rgb_to_y(hr)
        sl = (slice(shave, -shave), slice(shave, -shave))
        err = ((a - b) ** 2)[sl]
        hf_sr, hf_hr = high_frequency(sr)[sl] ** 2, high_frequency(hr)[sl] ** 2
        smap, lab_s = ssim_map(sr, hr, shave), crop_like_ssim_map(labels, shave)
        lab = labels[sl]
        mse = float(err.mean())
        self.per_image.append(math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse))
        regions = {"all": (np.ones_like(lab, bool), np.ones_like(lab_s, bool))}
        regions.update({c: (lab == k, lab_s == k) for k, c in enumerate(CATEGORIES)})
        for name, (m, ms) in regions.items():
            if not m.any():
                continue
            v = np.array([err[m].sum(), m.sum(), smap[ms].sum(), ms.sum(), hf_sr[m].sum(), hf_hr[m].sum()])
            self.sums[name] = self.sums.get(name, 0) + v

    def result(self) -> dict[str, dict]:
        out = {}
        for name, (se, n, ss, ns, e_sr, e_hr) in self.sums.items():
            mse = se / n
            out[name] = {"psnr": math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse),
                         "ssim": ss / ns if ns else math.nan,
                         "texture": e_sr / e_hr if e_hr else math.nan, "pixels": int(n)}
        if "all" in out:
            out["all"]["per_image_psnr"] = list(self.per_image)
        return out


# The comparisons that answer the question: what each condition adds, and whether ψ's content matters.
PAIRS = (("sftmd", "srresnet"), ("sftgan", "srresnet"), ("sftconcat", "sftmd"), ("sftconcat", "sftgan"),
         ("sftgan", "sftgan/uniform"), ("sftgan/true", "sftgan"), ("sftconcat", "sftconcat/uniform"),
         ("sftconcat/true", "sftconcat"))
# the GAN stage: what it changes, and the semantic condition after it
GAN_PAIRS = (("sftmd_gan", "sftmd"), ("sftconcat_gan", "sftconcat"), ("sftconcat_gan", "sftmd_gan"),
             ("sftconcat_gan", "sftconcat_gan/uniform"), ("sftconcat_gan/true", "sftconcat_gan"))


def paired_difference(by_method: dict, a: str, b: str) -> dict | None:
    """Mean per-image PSNR difference a − b over a set's images with its standard error
    (images are the unit: the same LR for both); None when a method is missing."""
    if a not in by_method or b not in by_method:
        return None
    d = np.array(by_method[a]["all"]["per_image_psnr"]) - np.array(by_method[b]["all"]["per_image_psnr"])
    d = d[np.isfinite(d)]
    se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan
    return {"mean": float(d.mean()), "se": se, "n": int(len(d)), "wins": int((d > 0).sum())}


def format_differences(results: dict, pairs=PAIRS + GAN_PAIRS) -> str:
    """Markdown: per set, mean per-image PSNR difference of each pair ± 2 standard errors, and the
    share of images where the first is better."""
    sets = list(results)
    lines = ["| a − b (dB) | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for a, b in pairs:
        cells = []
        for name in sets:
            r = paired_difference(results[name], a, b)
            cells.append("–" if r is None else f"{r['mean']:+.3f} ± {2 * r['se']:.3f} ({r['wins']}/{r['n']})")
        if set(cells) != {"–"}:  # pairs of variants this run did not have are left out
            lines.append(f"| {a} − {b} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def methods_of(pipes: dict, maps=MAPS) -> list[tuple[str, str, str | None]]:
    """(method name, variant, ψ condition) for every run: the seg variants once per condition."""
    out = []
    for v, pipe in pipes.items():
        if pipe.generator.cfg.use_seg:
            out += [(v if m == "predicted" else f"{v}/{m}", v, m) for m in maps]
        else:
            out.append((v, v, None))
    return out


@torch.no_grad()
def run_ablation(pipes: dict, sets: dict[str, list], scale: int, kernel: str = "true", maps=MAPS,
                 progress=None) -> dict:
    """{set: {method: {category|'all': {psnr, ssim, texture, pixels}}}}, bicubic included.

    Args:
        pipes: {variant: Pipeline} (``load_variants``).
        sets: {set name: [SegSample]} (``srkit.evaluation.segmentation.heldout_sets``).
        kernel: 'true' (the kernel variants get the true kernel's code) or 'ikc' (their estimate).
        maps: the ψ conditions of the seg variants (``MAPS``).
        progress: optional callable(set name, index, count).
    """
    if kernel not in ("true", "ikc"):
        raise ValueError(f"kernel must be 'true' or 'ikc', got {kernel!r}")
    runs = methods_of(pipes, maps)
    results = {}
    for set_name, samples in sets.items():
        stats = {"bicubic": CategoryStats(), **{name: CategoryStats() for name, _, _ in runs}}
        for i, sample in enumerate(samples):
            hr, lr, labels, lr_labels, sigma = degraded_scene(sample, i, scale)
            stats["bicubic"].add(imresize_np(lr, scale), hr, labels, scale)
            lr_t = as_tensor(lr)
            for name, v, which in runs:
                pipe = pipes[v]
                x = lr_t.to(pipe.device)
                code = None
                if pipe.generator.cfg.use_kernel and kernel == "true":
                    code = pipe.pca.encode(gaussian_kernel(sigma)[None].to(pipe.pca.matrix.device)).to(x.device)
                seg = condition(which, pipe, x, lr_labels) if which else None
                sr = pipe.upscale(x, code=code, seg=seg, name=f"{sample.name} ({name})")
                stats[name].add(to_uint8(sr[0].permute(1, 2, 0).cpu().numpy()), hr, labels, scale)
            if progress:
                progress(set_name, i, len(samples))
        results[set_name] = {name: s.result() for name, s in stats.items()}
    return results


def format_ablation(results: dict, metric: str = "psnr") -> str:
    """Markdown, one table per set: a row per method, a column per category present (+ all)."""
    fmt = {"psnr": "{:.2f}", "ssim": "{:.4f}", "texture": "{:.3f}"}[metric]
    blocks = []
    for set_name, by_method in results.items():
        cats = ["all"] + [c for c in CATEGORIES if c in by_method["bicubic"]]
        lines = [f"**{set_name}**, {metric}", "", "| method | " + " | ".join(cats) + " |",
                 "|---|" + "---|" * len(cats)]
        for method, r in by_method.items():
            lines.append(f"| {method} | " + " | ".join(fmt.format(r[c][metric]) if c in r else "–" for c in cats)
                         + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def format_gaussian8_variants(by_variant: dict[str, dict], sets=("Set5", "Set14", "B100"), scale: int = 2,
                              reference: dict | None = None) -> str:
    """Markdown: the variants on Gaussian8 (``srkit bench gaussian8`` results, one per variant).

    Columns per set: ``true kernel`` (SFTMD / SFTconcat given the true code) and ``blind`` (IKC at
    the fixed step t for the kernel variants, the generator alone for SRResNet / SFT-GAN);
    PSNR / SSIM. ``reference``: results of another model to show beside them (e.g. the x2 bundle),
    as {name: results}.
    """
    rows = {**{v: by_variant[v] for v in VARIANTS if v in by_variant}, **(reference or {})}
    first = next(iter(rows.values()), None)
    head = ["| model | " + " | ".join(f"{s} true kernel | {s} blind" for s in sets) + " |",
            "|---|" + "---|---|" * len(sets)]
    lines = head
    if first is not None and "bicubic" in first:
        cells = [f"{_g8(first, 'bicubic', s, scale)} | {_g8(first, 'bicubic', s, scale)}" for s in sets]
        lines.append("| bicubic | " + " | ".join(cells) + " |")
    for name, res in rows.items():
        blind = "ikc" if "ikc" in res else "sr"
        cells = [f"{_g8(res, 'true_kernel', s, scale)} | {_g8(res, blind, s, scale)}" for s in sets]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _g8(results: dict, method: str, set_name: str, scale: int) -> str:
    r = results.get(method, {}).get(set_name, {}).get(str(scale))
    return "–" if not r else f"{r['psnr']:.2f} / {r['ssim']:.4f}"


def merge_ablation_results(parts: list[dict]) -> dict:
    """One ``run_ablation`` result from runs of different variants on the same sets (bicubic, the
    same in every run, is kept once)."""
    merged: dict = {}
    for part in parts:
        for set_name, by_method in part.items():
            dest = merged.setdefault(set_name, {})
            for method, value in by_method.items():
                if method in dest and method != "bicubic":
                    raise ValueError(f"{method} on {set_name} is in more than one run")
                dest.setdefault(method, value)
    return merged


def format_seeds(by_seed: dict[int, dict], a: str = "sftgan", b: str = "srresnet") -> str:
    """Markdown: a and b's pooled PSNR per training seed and set, the paired difference a − b per
    seed (± 2 standard errors over images, wins/n), and each variant's seed-to-seed change (the same
    images, so the change is the run-to-run spread the a − b difference has to beat)."""
    seeds = sorted(by_seed)
    sets = list(by_seed[seeds[0]])
    lines = ["| | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for seed in seeds:
        res = by_seed[seed]
        for v in (b, a):
            lines.append(f"| {v}, seed {seed} | " + " | ".join(
                f"{res[s][v]['all']['psnr']:.3f}" if v in res.get(s, {}) else "–" for s in sets) + " |")
        cells = []
        for s in sets:
            r = paired_difference(res.get(s, {}), a, b)
            cells.append("–" if r is None else f"{r['mean']:+.3f} ± {2 * r['se']:.3f} ({r['wins']}/{r['n']})")
        lines.append(f"| **{a} − {b}, seed {seed}** | " + " | ".join(cells) + " |")
    for v in (b, a):
        for s0, s1 in zip(seeds, seeds[1:]):
            cells = []
            for s in sets:
                pair = {"x": by_seed[s1].get(s, {}).get(v), "y": by_seed[s0].get(s, {}).get(v)}
                r = paired_difference(pair, "x", "y") if all(pair.values()) else None
                cells.append("–" if r is None else f"{r['mean']:+.3f} ± {2 * r['se']:.3f} ({r['wins']}/{r['n']})")
            lines.append(f"| {v}: seed {s1} − seed {s0} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
