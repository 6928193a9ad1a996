"""Models for the notebooks and widgets: bundled weights when present, else a quick stand-in.

``get_pipeline(scale)`` returns ``srkit.load("x<scale>")`` when the bundled weights exist. Until
they do (and for the ablation variants, which are not bundled), it returns a *tiny* pipeline trained
for a few seconds on scikit-image's photos by :func:`quick_train`, cached under :func:`cache_dir` so
the next notebook reuses it, and prints a note saying so. Quick models show the mechanics (shapes,
controls, the direction of effects), not the paper's quality: say so wherever their numbers appear.

The quick trainer is deliberately small (one loop, all networks at once); real training lives in
``srkit.train`` (``srkit train ... --preset smoke|cpu|gpu``).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from srkit.kernels import KernelPCA, KernelSpec

VARIANTS = ("srresnet", "sftmd", "sftgan", "sftconcat")
_FLAGS = {"srresnet": (False, False), "sftmd": (True, False), "sftgan": (False, True), "sftconcat": (True, True)}


def smoke_mode() -> bool:
    """True when ``SRKIT_SMOKE=1``: notebooks and quick models shrink to a CPU smoke run."""
    return os.environ.get("SRKIT_SMOKE") == "1"


def cache_dir() -> Path:
    """Where notebook artifacts live: ``$SRKIT_CACHE``, else ``cache/`` in a source checkout, else ~/.cache/srkit."""
    if os.environ.get("SRKIT_CACHE"):
        d = Path(os.environ["SRKIT_CACHE"])
    else:
        root = Path(__file__).resolve().parent.parent
        d = root / "cache" if (root / "pyproject.toml").is_file() else Path.home() / ".cache" / "srkit"
    d.mkdir(parents=True, exist_ok=True)
    return d


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def training_images(max_images: int | None = None) -> list[torch.Tensor]:
    """HR training images as 3×H×W float tensors: T91 + BSD200 from ``$SRKIT_DATA`` (full mode) or
    scikit-image's bundled photos (always available; the smoke default)."""
    from srkit.data.scenes import default_backgrounds
    images = [torch.from_numpy(b).permute(2, 0, 1).contiguous() for b in default_backgrounds()]
    data = os.environ.get("SRKIT_DATA")
    if data and not smoke_mode():
        from srkit.imageio import list_images, read_image
        for sub in ("T91", "BSD200"):
            folder = Path(data) / sub
            if folder.is_dir():
                images += [torch.from_numpy(read_image(p)).permute(2, 0, 1).contiguous() for p in list_images(folder)]
    return images[:max_images] if max_images else images


def hr_batch(images: list[torch.Tensor], n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """n random size×size crops (random flips) from ``images`` → N×3×size×size."""
    out = []
    for _ in range(n):
        img = images[int(torch.randint(len(images), (1,), generator=g))]
        _, h, w = img.shape
        if h < size or w < size:
            img = F.interpolate(img[None], size=(max(h, size), max(w, size)), mode="bilinear")[0]
            _, h, w = img.shape
        y = int(torch.randint(h - size + 1, (1,), generator=g))
        x = int(torch.randint(w - size + 1, (1,), generator=g))
        crop = img[:, y:y + size, x:x + size]
        if torch.rand(1, generator=g) < 0.5:
            crop = crop.flip(-1)
        out.append(crop)
    return torch.stack(out)


def seg_pool(n: int, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n synthetic segmentation samples (captions on scikit-image photos): N×3×s×s images, N×s×s labels."""
    from srkit.data.scenes import default_backgrounds
    from srkit.data.synth import make_segmentation_sample
    rng = np.random.default_rng(seed)
    bgs = default_backgrounds()
    ims, labs = zip(*(make_segmentation_sample(bgs[i % len(bgs)], rng, crop=size, n_text=(1, 3))
                      for i in range(n)))
    return torch.from_numpy(np.stack(ims)).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(np.stack(labs))


def build_pipeline(scale: int, variant: str = "sftconcat", size: str = "tiny", pretrained_seg: bool = False):
    """A freshly initialised Pipeline of the given generator variant and preset size ('tiny', 'small')."""
    from srkit.models.ikc import Corrector, CorrectorConfig, Predictor, PredictorConfig
    from srkit.models.sft import GeneratorConfig, SFTGenerator
    from srkit.pipeline import Pipeline
    if variant not in _FLAGS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {VARIANTS}")
    use_kernel, use_seg = _FLAGS[variant]
    gen = SFTGenerator(GeneratorConfig.preset(size, scale=scale, use_kernel=use_kernel, use_seg=use_seg))
    parts = {"generator": gen, "pca": KernelPCA.fit(scale, n=5000, seed=0)}
    if use_kernel:
        parts["predictor"] = Predictor(PredictorConfig.preset(size))
        parts["corrector"] = Corrector(CorrectorConfig.preset(size, scale=scale))
    if use_seg:
        from srkit.models.seg import SegConfig, SegNet
        parts["segnet"] = SegNet(SegConfig.preset(size, pretrained=pretrained_seg))
    return Pipeline(**parts, meta={"variant": variant, "size": size})


def quick_train(pipe, seconds: float, *, lr_size: int = 32, batch: int = 8, noise: float = 0.0,
                seed: int = 0, log_every: int = 10) -> dict[str, list[float]]:
    """Train every network of ``pipe`` together for about ``seconds`` (a notebook stand-in, not the paper's schedule).

    Each iteration: S on synthetic captions (cross-entropy), G with the true kernel code (L1), P on the
    code (L1), C on G's output with P's code (L1 to the true code). Random isotropic kernels of the
    scale's width range, MATLAB bicubic ↓s (paper eq. 7).

    Returns:
        Loss history {"step", "g", "p", "c", "s"} every ``log_every`` iterations.
    """
    from srkit.degrade import degrade
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    dev, s = pipe.device, pipe.scale
    images = training_images()
    nets = pipe.modules()
    opts = {k: torch.optim.Adam(m.parameters(), lr=2e-4 if k == "generator" else 1e-3, betas=(0.9, 0.999))
            for k, m in nets.items() if k != "discriminator"}
    pool = seg_pool(48, 2 * lr_size, seed) if pipe.segnet is not None else None
    spec = KernelSpec(scale=s)
    hist = {"step": [], "g": [], "p": [], "c": [], "s": []}
    for m in nets.values():
        m.train()
    start, step = time.perf_counter(), 0
    while time.perf_counter() - start < seconds or step == 0:
        losses = {}
        if pool is not None:
            idx = torch.randint(len(pool[0]), (batch,), generator=g)
            loss = F.cross_entropy(pipe.segnet.logits(pool[0][idx].to(dev)), pool[1][idx].to(dev), ignore_index=-1)
            losses["s"] = _step(opts["segnet"], loss)
        hr = hr_batch(images, batch, lr_size * s, g)
        d = degrade(hr, s, kernel_spec=spec, noise_sigma=noise, pca=pipe.pca, generator=g)
        hr, lr, code = hr.to(dev), d.lr.to(dev), d.codes.to(dev)
        with torch.no_grad():
            seg = pipe.segnet(lr) if pipe.segnet is not None and pipe.generator.cfg.use_seg else None
        losses["g"] = _step(opts["generator"], F.l1_loss(pipe.generator(lr, code, seg), hr))
        if pipe.predictor is not None:
            h0 = pipe.predictor(lr)
            losses["p"] = _step(opts["predictor"], F.l1_loss(h0, code))
            with torch.no_grad():
                sr = pipe.generator(lr, h0, seg)
            losses["c"] = _step(opts["corrector"], F.l1_loss(pipe.corrector(sr, h0.detach()), code))
        if step % log_every == 0:
            hist["step"].append(step)
            for k in ("g", "p", "c", "s"):
                hist[k].append(losses.get(k, float("nan")))
        step += 1
    pipe.eval()
    pipe.meta.update({"quick_train_seconds": round(time.perf_counter() - start, 1), "quick_train_steps": step})
    return hist


def _step(opt, loss) -> float:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


def _default_seconds() -> float:
    if smoke_mode():
        return 15.0
    return 600.0 if torch.cuda.is_available() else 120.0


def get_pipeline(scale: int = 2, variant: str = "sftconcat", *, seconds: float | None = None,
                 device: str | torch.device | None = None, use_bundled: bool = True, use_cache: bool = True,
                 verbose: bool = True):
    """The model the notebooks use: bundled ``x<scale>`` weights when present, else a quick stand-in.

    Args:
        scale: 2 or 4 (any of 2, 3, 4 for stand-ins).
        variant: 'sftconcat' (the paper; the bundled model) or an ablation variant ('srresnet',
            'sftmd', 'sftgan'), which is always a stand-in.
        seconds: quick-training budget (default 15 s in smoke mode, 120 s on CPU, 600 s on a GPU).
            0 gives a freshly initialised model.
        device: default CUDA when available.
        use_bundled / use_cache: look for bundled weights / a cached stand-in first.
        verbose: print where the model came from.

    Returns:
        A ``Pipeline`` in eval mode; ``pipe.meta["source"]`` is 'bundled', 'cache', 'quick-trained'
        or 'initialised'.
    """
    device = torch.device(device) if device is not None else default_device()
    seconds = _default_seconds() if seconds is None else float(seconds)
    if use_bundled and variant == "sftconcat":
        pipe = load_bundled(scale, device)
        if pipe is not None:
            _say(verbose, f"srkit: using the bundled weights 'x{scale}' ({pipe.meta.get('description', 'trained by srkit')}).")
            return pipe
    size = "tiny" if smoke_mode() or seconds < 60 else "small"
    tag = "init" if seconds == 0 else f"{int(seconds)}s"
    path = cache_dir() / f"quick_x{scale}_{variant}_{size}_{tag}.safetensors"
    if use_cache and path.is_file():
        from srkit.checkpoint import load_checkpoint
        from srkit.pipeline import Pipeline
        pipe = Pipeline.from_checkpoint(load_checkpoint(path, device))
        pipe.meta["source"] = "cache"
        _say(verbose, f"srkit: NOTE no bundled weights; using a {size} {variant} stand-in quick-trained for "
                      f"{pipe.meta.get('quick_train_seconds', '?')} s, cached at {path}. Expect demo quality only.")
        return pipe
    pipe = build_pipeline(scale, variant, size, pretrained_seg=not smoke_mode()).to(device)
    if seconds > 0:
        _say(verbose, f"srkit: NOTE no bundled weights 'x{scale}'; quick-training a {size} {variant} stand-in "
                      f"for {seconds:.0f} s on {device} (demo quality only; see `srkit train` for real models).")
        quick_train(pipe, seconds, lr_size=32 if size == "tiny" else 48)
        pipe.meta["source"] = "quick-trained"
    else:
        pipe.eval()
        pipe.meta["source"] = "initialised"
        _say(verbose, f"srkit: NOTE no bundled weights; using a freshly INITIALISED {variant} model (untrained).")
    if use_cache:
        pipe.save(path)
    return pipe


def load_bundled(scale: int, device: str | torch.device | None = None):
    """The bundled ``x<scale>`` pipeline (``srkit.load``), or None when the checkout has none."""
    import srkit
    try:
        pipe = srkit.load(f"x{scale}", device=device if device is not None else default_device())
    except FileNotFoundError:
        return None
    pipe.meta["source"] = "bundled"
    return pipe


def get_variants(scale: int = 2, variants=VARIANTS, **kwargs) -> dict:
    """One pipeline per generator variant (``get_pipeline(scale, v)``), for the ablations."""
    return {v: get_pipeline(scale, v, **kwargs) for v in variants}


def _say(verbose: bool, msg: str) -> None:
    if verbose:
        print(msg)


SAMPLES = {"face": ("astronaut", (16, 208, 136, 328)), "text": ("text", None), "scene": ("coffee", None),
           "building": ("rocket", None), "cat": ("chelsea", None)}


def sample_image(name: str = "face", multiple: int = 12, max_side: int = 256) -> np.ndarray:
    """A built-in HR test image (uint8 H×W×3), cropped to ≤ ``max_side`` and a multiple of ``multiple``.

    Names: 'face' (astronaut's face), 'text' (scikit-image's text sample), 'scene' (coffee),
    'building' (rocket launch), 'cat' (chelsea).
    """
    import skimage.data
    if name not in SAMPLES:
        raise ValueError(f"unknown sample {name!r}; choose one of {sorted(SAMPLES)}")
    src, box = SAMPLES[name]
    img = getattr(skimage.data, src)()
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = img[..., :3]
    if box is not None:
        img = img[box[0]:box[1], box[2]:box[3]]
    h, w = img.shape[:2]
    if max(h, w) > max_side:  # centre crop to max_side
        top, left = max(0, (h - max_side) // 2), max(0, (w - max_side) // 2)
        img = img[top:top + max_side, left:left + max_side]
    h, w = img.shape[:2]
    return np.ascontiguousarray(img[:h - h % multiple, :w - w % multiple])
