"""Parameters and GFLOPs per LR megapixel of every srkit network and preset.

Run ``python bench/model_sizes.py`` (writes bench/MODEL_SIZES.md). FLOPs are counted by
``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matmuls, 1 multiply-add = 2 FLOPs;
element-wise ops are not counted) on meta tensors, so nothing is computed and it runs in seconds on
any machine. Convolutional cost is linear in pixels, so one 64×64 LR input is scaled to 10⁶ pixels.
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from srkit.categories import NUM_CATEGORIES
from srkit.models.disc import Discriminator, DiscriminatorConfig
from srkit.models.ikc import Corrector, CorrectorConfig, Predictor, PredictorConfig
from srkit.models.sft import GeneratorConfig, SFTGenerator

PRESETS = ("tiny", "small", "default")
VARIANTS = {"srresnet": (False, False), "sftmd": (True, False), "sftgan": (False, True), "sftconcat": (True, True)}
LR = 64  # LR side used for counting
META = torch.device("meta")


def params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def gflops_per_lr_mp(fn, lr_pixels: int) -> float:
    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops() / lr_pixels * 1e6 / 1e9


def build(cls, cfg):
    with META:
        return cls(cfg)


def generator_rows():
    rows = []
    for preset in PRESETS:
        for variant, (k, s) in VARIANTS.items():
            cells, n_params = [], None
            for scale in (2, 3, 4):
                g = build(SFTGenerator, GeneratorConfig.preset(preset, scale=scale, use_kernel=k, use_seg=s))
                lr = torch.zeros(1, 3, LR, LR, device=META)
                code = torch.zeros(1, g.cfg.code_len, device=META)
                seg = torch.zeros(1, NUM_CATEGORIES, LR, LR, device=META)
                cells.append(gflops_per_lr_mp(lambda: g(lr, code, seg), LR * LR))
                n_params = n_params if scale != 4 else params(g)
            rows.append(("generator G", preset, variant, n_params, cells))
    return rows


def ikc_rows():
    rows = []
    for preset in PRESETS:
        p = build(Predictor, PredictorConfig.preset(preset))
        lr = torch.zeros(1, 3, LR, LR, device=META)
        f = gflops_per_lr_mp(lambda: p(lr), LR * LR)
        rows.append(("predictor P", preset, "", params(p), [f, f, f]))
        cells = []
        for scale in (2, 3, 4):
            c = build(Corrector, CorrectorConfig.preset(preset, scale=scale))
            sr = torch.zeros(1, 3, scale * LR, scale * LR, device=META)
            code = torch.zeros(1, c.cfg.code_len, device=META)
            cells.append(gflops_per_lr_mp(lambda: c(sr, code), LR * LR))
        rows.append(("corrector C (per step)", preset, "", params(c), cells))
    return rows


def seg_rows():
    try:
        from srkit.models.seg import SegConfig, SegNet
    except ImportError:
        return []
    rows = []
    for preset in PRESETS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = build(SegNet, SegConfig.preset(preset, pretrained=False))
        lr = torch.zeros(1, 3, LR, LR, device=META)
        f = gflops_per_lr_mp(lambda: s(lr), LR * LR)
        rows.append((f"segnet S ({s.cfg.encoder})", preset, "", params(s), [f, f, f]))
    return rows


def disc_rows():
    rows = []
    for preset in PRESETS:
        d = build(Discriminator, DiscriminatorConfig.preset(preset))
        cells = []
        for scale in (2, 3, 4):  # D sees the HR/SR image: s² HR pixels per LR pixel
            hr = torch.zeros(1, 3, scale * LR, scale * LR, device=META)
            cells.append(gflops_per_lr_mp(lambda: d(hr), LR * LR))
        rows.append(("discriminator D (training)", preset, "", params(d), cells))
    return rows


def ikc_total(rows, preset: str, steps: int = 7) -> list[float]:
    """Full pipeline at inference: S + P + (t+1)·G(sftconcat) + t·C."""
    get = {(r[0].split(" (")[0].split()[0], r[1], r[2]): r[4] for r in rows}
    g, p, c = get[("generator", preset, "sftconcat")], get[("predictor", preset, "")], get[("corrector", preset, "")]
    s = get.get(("segnet", preset, ""), [0.0] * 3)
    return [s[i] + p[i] + (steps + 1) * g[i] + steps * c[i] for i in range(3)]


def table(rows) -> str:
    out = ["| model | preset | variant | params (×4) | GFLOPs / LR MP ×2 | ×3 | ×4 |",
           "|---|---|---|---:|---:|---:|---:|"]
    for name, preset, variant, n, cells in rows:
        ps = f"{n / 1e6:.3f} M" if n >= 1e4 else f"{n / 1e3:.1f} k"
        out.append(f"| {name} | {preset} | {variant} | {ps} | " + " | ".join(f"{c:,.1f}" for c in cells) + " |")
    for preset in PRESETS:
        cells = ikc_total(rows, preset)
        out.append(f"| **full pipeline, t = 7** (S + P + 8·G + 7·C) | {preset} | sftconcat | | "
                   + " | ".join(f"**{c:,.0f}**" for c in cells) + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).with_name("MODEL_SIZES.md")))
    args = ap.parse_args()
    rows = generator_rows() + ikc_rows() + seg_rows() + disc_rows()
    md = ("# Model sizes\n\nParameters (at ×4; ×2/×3 differ only in the upsampler / first corrector layer) "
          "and GFLOPs per LR megapixel (conv + matmul FLOPs, 2 per multiply-add, counted with "
          "`torch.utils.flop_counter.FlopCounterMode`; the discriminator and corrector see the s× larger "
          "image, still normalised per LR megapixel). A 1920×1080 output at ×4 is 0.13 LR megapixels. "
          "Regenerate with `python bench/model_sizes.py`.\n\n" + table(rows) + "\n")
    Path(args.out).write_text(md)
    print(md)


if __name__ == "__main__":
    main()
