"""The degradation model of the paper (eq. 7): LR = (k ⊗ HR)↓s + n, optionally compressed.

Compression comes last, in the order of a broadcast chain (optics, scan, sensor/film noise, then
the encoder): a JPEG round trip (stills) or MPEG-2 intra coding at a fixed quantiser (SD
broadcast and DVD masters; FFmpeg's own encoder through PyAV, so the blocking is the codec's).

Batched in torch on whatever device HR lives on; every random draw comes from one
``torch.Generator`` so a seed reproduces the LR batch exactly.

Published tables use two other ways to make LR, both here (:func:`protocol_lr`): BI (MATLAB bicubic
↓s, no blur) and BD (the DUF code's Gaussian downsampler, :func:`duf_downsample`, corner phase).
docs/PROTOCOLS.md lists every downsampler of the kit with its sampling phase.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from srkit.kernels import KernelPCA, KernelSpec, sample_kernels
from srkit.resize import imresize

SCALES = (2, 3, 4)


@dataclass
class Degraded:
    """An LR batch and exactly what made it.

    Attributes:
        lr: N×3×(H/s)×(W/s) float32 in [0, 1] (quantised to uint8 levels when ``quantize``).
        kernels: N×k×k blur kernels applied.
        codes: N×b PCA codes of the kernels (None when no PCA was given).
        noise_sigma: N noise levels on the 0–255 scale.
        jpeg_quality: N JPEG qualities (0 = no JPEG).
        mpeg2_qscale: N MPEG-2 quantiser scales (0 = no MPEG-2).
        params: kernel parameters (sigma_x, sigma_y, theta), each N floats, when kernels were sampled.
    """
    lr: torch.Tensor
    kernels: torch.Tensor
    codes: torch.Tensor | None
    noise_sigma: torch.Tensor
    jpeg_quality: torch.Tensor
    mpeg2_qscale: torch.Tensor | None = None
    params: dict[str, torch.Tensor] | None = None


def blur(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Convolve each image of x (N×C×H×W) with its own kernel (N×k×k or k×k), reflect padding."""
    n, c, h, w = x.shape
    if kernels.dim() == 2:
        kernels = kernels.expand(n, -1, -1)
    if kernels.shape[0] != n:
        raise ValueError(f"{kernels.shape[0]} kernels for a batch of {n} images")
    k = kernels.shape[-1]
    if h <= k // 2 or w <= k // 2:
        raise ValueError(f"image {h}×{w} is too small for a {k}×{k} kernel (needs > {k // 2} pixels per side)")
    pad = k // 2
    xp = F.pad(x.reshape(1, n * c, h, w), (pad, pad, pad, pad), mode="reflect")
    # conv2d correlates; flipping makes it a true convolution (matters for asymmetric kernels).
    weight = kernels.flip(-2, -1).to(x).repeat_interleave(c, dim=0).unsqueeze(1)  # (N·C)×1×k×k
    return F.conv2d(xp, weight, groups=n * c).reshape(n, c, h, w)


def subsample(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Direct s-fold subsampling (keep every s-th pixel, starting at the first): "corner" phase,
    LR pixel i is HR pixel s·i (docs/PROTOCOLS.md)."""
    return x[..., ::scale, ::scale]


DUF_KERNEL_SIZE = 13


def duf_kernel(scale: int, size: int = DUF_KERNEL_SIZE) -> torch.Tensor:
    """The BD protocol's blur: a size×size (default 13) Gaussian of σ = 0.4·scale, float64, sum 1.

    Built as the DUF code (and BasicSR's ``generate_gaussian_kernel``) builds it: scipy's
    ``gaussian_filter`` of a centred impulse, so the taps are a sampled Gaussian truncated at
    ``int(4σ + 0.5)`` pixels (×2: radius 3 of the 13×13; ×3: 5; ×4: 6), normalised per axis.
    """
    from scipy.ndimage import gaussian_filter
    import numpy as np
    impulse = np.zeros((size, size))
    impulse[size // 2, size // 2] = 1.0
    return torch.from_numpy(gaussian_filter(impulse, 0.4 * scale))


def duf_downsample(x: torch.Tensor, scale: int) -> torch.Tensor:
    """The BD protocol's downsampler (DUF, Jo et al. CVPR 2018; BasicSR's ``duf_downsample``).

    Reflect padding of 6 + 2·scale pixels, a strided correlation with :func:`duf_kernel`, and a
    crop of 2 LR pixels per side, exactly as BasicSR does it. Phase: **corner**, LR pixel i is the
    blurred HR pixel s·i (MATLAB bicubic and srkit's bicubic-trained models put it at
    s·i + (s − 1)/2: 1.5 HR pixels apart at ×4; see ``srkit.phase`` and docs/PROTOCOLS.md).

    Args:
        x: N×C×H×W float (any range), H and W multiples of ``scale`` and larger than 6 + 2·scale.
        scale: 2, 3 or 4.

    Returns:
        N×C×(H/s)×(W/s), the input's dtype and device; not rounded.
    """
    if scale not in SCALES:
        raise ValueError(f"the DUF downsampler is defined for scales {SCALES}, got {scale}")
    n, c, h, w = x.shape
    pad = DUF_KERNEL_SIZE // 2 + 2 * scale
    if h % scale or w % scale or min(h, w) <= pad:
        raise ValueError(f"the DUF downsampler needs H and W multiples of {scale} and above {pad} "
                         f"pixels, got {h}×{w}")
    xp = F.pad(x.reshape(n * c, 1, h, w), (pad, pad, pad, pad), mode="reflect")
    weight = duf_kernel(scale).to(x)[None, None]  # symmetric: correlation = convolution
    y = F.conv2d(xp, weight, stride=scale)[:, :, 2:-2, 2:-2]
    return y.reshape(n, c, h // scale, w // scale)


PROTOCOLS = ("srkit", "bi", "bd")


def protocol_lr(hr, scale: int, protocol: str, sigma: float | None = None):
    """uint8 HR H×W×3 → uint8 LR built as a published table built it.

    Args:
        protocol: 'bi' (MATLAB bicubic ↓s, no blur: the "BI" columns and the bicubic tables),
            'bd' (:func:`duf_downsample`: the "BD" columns of Vid4, Vimeo-90K-T, UDM10) or 'srkit'
            (21×21 isotropic Gaussian of width ``sigma``, then MATLAB bicubic ↓s: Gaussian8).
        sigma: the blur width of 'srkit' (default the scale's middle Gaussian8 width); ignored otherwise.

    Phase (docs/PROTOCOLS.md): 'bi' and 'srkit' centre, 'bd' corner.
    """
    import numpy as np

    from srkit.imageio import to_uint8
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    if protocol == "srkit":
        return degrade_uint8(hr, scale, sigma=sigma)
    x = torch.from_numpy(np.ascontiguousarray(hr)).permute(2, 0, 1)[None].double() / 255
    if protocol == "bd":
        lr = duf_downsample(x, scale)
    else:
        lr = imresize(x, scale=1 / scale)
    return to_uint8(lr)


def jpeg(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """JPEG round trip of each image at its own quality (1–100; 0 leaves the image unchanged).

    Pillow's libjpeg (4:2:0 chroma subsampling, like most broadcast stills); not differentiable.
    """
    import io

    import numpy as np
    from PIL import Image
    out = x.clone()
    for i, q in enumerate(quality.tolist()):
        if q <= 0:
            continue
        u8 = (x[i].detach().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
        buf = io.BytesIO()
        Image.fromarray(u8).save(buf, format="JPEG", quality=int(q))
        dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
        out[i] = torch.from_numpy(dec.copy()).permute(2, 0, 1).to(x) / 255
    return out


MPEG2_QSCALE_RANGE = (1, 31)  # the codec's quantiser scale: 1 finest, 31 coarsest


def mpeg2(x: torch.Tensor, qscale: torch.Tensor) -> torch.Tensor:
    """MPEG-2 intra round trip of each image at its own fixed quantiser scale (1–31; 0 = unchanged).

    FFmpeg's ``mpeg2video`` encoder through PyAV, 4:2:0, one I-picture per image with the quantiser
    pinned (qmin = qmax), so the result depends on the picture and q alone, not on a rate
    controller. On Set14 crops q 8 gives about 1.2 bit per pixel (an SD I-picture of a 6–8 Mbit/s
    broadcast), q 16 about 0.65 (a starved low-rate transfer). Odd sides are padded by edge
    replication to the even size 4:2:0 needs, and cropped back. Not differentiable.
    """
    from fractions import Fraction

    import numpy as np

    from srkit.imageio import sws_exact
    try:
        import av
    except ImportError as error:  # the 'video' extra
        raise ImportError("MPEG-2 degradation needs PyAV, which srkit installs: pip install av") from error
    out = x.clone()
    for i, q in enumerate(qscale.tolist()):
        if q <= 0:
            continue
        q = int(q)
        u8 = (x[i].detach().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
        h, w = u8.shape[:2]
        padded = np.pad(u8, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        enc = av.CodecContext.create("mpeg2video", "w")
        enc.width, enc.height = padded.shape[1], padded.shape[0]
        enc.pix_fmt, enc.time_base, enc.gop_size = "yuv420p", Fraction(1, 25), 0
        enc.bit_rate = 50_000_000  # only a ceiling: the pinned quantiser decides the size
        enc.options = {"qmin": str(q), "qmax": str(q)}
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(padded), format="rgb24").reformat(
            format="yuv420p", interpolation=sws_exact())
        packets = list(enc.encode(frame)) + list(enc.encode(None))
        dec = av.CodecContext.create("mpeg2video", "r")
        pictures = [p for pk in packets for p in dec.decode(pk)] + list(dec.decode(None))
        if len(pictures) != 1:
            raise RuntimeError(f"MPEG-2 round trip of image {i} ({h}×{w}, q {q}) gave {len(pictures)} pictures")
        rgb = pictures[0].to_ndarray(format="rgb24", interpolation=sws_exact())[:h, :w]
        out[i] = torch.from_numpy(rgb.copy()).permute(2, 0, 1).to(x) / 255
    return out


def per_image(value, n: int, g: torch.Generator, name: str) -> torch.Tensor:
    """A fixed value, a (lo, hi) range sampled uniformly per image, or an N-vector."""
    if isinstance(value, (tuple, list)) and len(value) == 2 and not torch.is_tensor(value):
        lo, hi = float(value[0]), float(value[1])
        if lo > hi:
            raise ValueError(f"{name} range must be (low, high), got {value}")
        return lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64).float()
    t = torch.as_tensor(value, dtype=torch.float32).flatten()
    if t.numel() == 1:
        t = t.expand(n).clone()
    if t.numel() != n:
        raise ValueError(f"{name} has {t.numel()} values for a batch of {n}")
    return t


def _asks(value) -> bool:
    """Whether a setting (number, range or N values) asks for anything but 0."""
    if torch.is_tensor(value):
        return bool((value != 0).any())
    if isinstance(value, (tuple, list)):
        return any(float(v) != 0 for v in value)
    return float(value) != 0


def degrade_uint8(hr, scale: int, sigma: float | None = None, noise: float = 0.0, seed: int = 0,
                  kernel: torch.Tensor | None = None, jpeg_quality: int = 0, mpeg2_qscale: int = 0):
    """uint8 HR H×W×3 → uint8 LR through :func:`degrade` with one fixed kernel: the one way srkit's
    demo, notebooks, widgets and single-width benches make an LR image.

    Args:
        hr: uint8 H×W×3 numpy array (or float in [0, 1]).
        sigma: isotropic Gaussian width; default the middle Gaussian8 width of ``scale``
            (×2 1.2, ×3 1.875, ×4 2.5). Ignored when ``kernel`` is given.
        noise: Gaussian noise σn on the 0–255 scale (paper: 15). jpeg_quality: 0 = none.
        mpeg2_qscale: MPEG-2 intra quantiser 1–31 (0 = none).
        seed: seeds the noise.
    """
    import numpy as np

    from srkit.imageio import to_uint8
    from srkit.kernels import gaussian8_middle, gaussian_kernel
    k = kernel if kernel is not None else gaussian_kernel(gaussian8_middle(scale) if sigma is None else sigma)
    a = np.ascontiguousarray(hr)
    x = torch.from_numpy(a).permute(2, 0, 1)[None].float()
    x = x / 255 if a.dtype == np.uint8 else x
    return to_uint8(degrade(x, scale, kernels=k, noise_sigma=noise, jpeg_quality=jpeg_quality,
                            mpeg2_qscale=mpeg2_qscale, seed=seed).lr)


def degrade(hr: torch.Tensor, scale: int, *, kernels: torch.Tensor | None = None,
            kernel_spec: KernelSpec | None = None, noise_sigma=0.0, jpeg_quality=0,
            mpeg2_qscale=0, downsample: str = "bicubic", quantize: bool = True, pca: KernelPCA | None = None,
            generator: torch.Generator | None = None, seed: int | None = None) -> Degraded:
    """Apply paper eq. 7 to a batch of HR images.

    Args:
        hr: N×3×H×W float in [0, 1] (a single 3×H×W image is accepted), any device.
        scale: 2, 3 or 4.
        kernels: N×k×k (or k×k) kernels to apply; when None they are sampled from ``kernel_spec``
            (default: isotropic, the scale's width range from SIGMA_RANGES).
        noise_sigma: Gaussian noise level on the 0–255 scale: a number, a (low, high) range
            sampled per image, or N values. The paper uses 15.
        jpeg_quality: JPEG quality 1–100 (0 = none): a number, a range or N values.
        mpeg2_qscale: MPEG-2 intra quantiser scale 1–31 (0 = none): a number, a range or N values.
            An image given both is JPEG-coded first, then MPEG-2 (a still re-encoded for air).
        downsample: 'bicubic' (MATLAB imresize, the default; centre phase) or 'direct' (s-fold
            subsampling; corner phase, see ``srkit.phase``).
        quantize: round the LR to uint8 levels before JPEG/return (the evaluation protocol stores
            LR as uint8); noise is added before rounding.
        pca: when given, the kernels' codes are returned too.
        generator / seed: source of randomness (CPU generator). ``seed`` builds one.

    Returns:
        :class:`Degraded` with the LR batch and everything that was applied.
    """
    if scale not in SCALES:
        raise ValueError(f"unsupported scale {scale}; srkit supports {SCALES}")
    if downsample not in ("bicubic", "direct"):
        raise ValueError(f"downsample must be 'bicubic' or 'direct', got {downsample!r}")
    if hr.dim() == 3:
        hr = hr.unsqueeze(0)
    if hr.dim() != 4 or hr.shape[1] != 3:
        raise ValueError(f"hr must be N×3×H×W, got shape {tuple(hr.shape)}")
    if not hr.is_floating_point() or not torch.isfinite(hr).all():
        raise ValueError("hr must be a finite float tensor in [0, 1]")
    n, _, h, w = hr.shape
    if h % scale or w % scale:
        raise ValueError(f"HR size {h}×{w} is not a multiple of the scale {scale}; modcrop it first")
    if generator is None:
        generator = torch.Generator().manual_seed(seed if seed is not None else torch.seed())

    params = None
    if kernels is None:
        kernels, params = sample_kernels(n, kernel_spec or KernelSpec(scale=scale), generator)
    kernels = kernels.to(hr.device, torch.float32)
    noise = per_image(noise_sigma, n, generator, "noise_sigma")
    quality = per_image(jpeg_quality, n, generator, "jpeg_quality").round()
    # Drawn only when asked for, so the batches of settings without MPEG-2 stay as they were.
    mq = (per_image(mpeg2_qscale, n, generator, "mpeg2_qscale").round() if _asks(mpeg2_qscale)
          else torch.zeros(n))
    if ((mq != 0) & ((mq < MPEG2_QSCALE_RANGE[0]) | (mq > MPEG2_QSCALE_RANGE[1]))).any():
        raise ValueError(f"mpeg2_qscale must be 0 (none) or in {list(MPEG2_QSCALE_RANGE)}, got {mq.tolist()}")
    if (noise < 0).any() or (quality < 0).any() or (quality > 100).any():
        raise ValueError(f"noise_sigma must be >= 0 and jpeg_quality in [0, 100], got {noise.tolist()}, "
                         f"{quality.tolist()}")

    x = blur(hr, kernels)
    x = imresize(x, scale=1 / scale) if downsample == "bicubic" else subsample(x, scale)
    if (noise > 0).any():
        eps = torch.randn(x.shape, generator=generator, dtype=torch.float32).to(x.device)
        x = x + eps * (noise.to(x.device) / 255).view(n, 1, 1, 1)
    x = x.clamp(0, 1)
    if quantize:
        x = (x * 255).round() / 255
    if (quality > 0).any():
        x = jpeg(x, quality)
    if (mq > 0).any():
        x = mpeg2(x, mq)
    codes = pca.encode(kernels.to(pca.matrix.device)).to(hr.device) if pca is not None else None
    return Degraded(lr=x, kernels=kernels, codes=codes, noise_sigma=noise, jpeg_quality=quality,
                    mpeg2_qscale=mq, params=params)
