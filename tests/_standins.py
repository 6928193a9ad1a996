"""Small stand-ins for the tests of the production path (tiling, video, CLI): fast on 2 CPU cores."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from srkit.inference.pipeline import Pipeline
from srkit.models.ikc import IKCResult
from srkit.models.sft import GeneratorConfig, SFTGenerator


class TinyConvSR(nn.Module):
    """Two 3×3 convs + pixel shuffle: receptive-field radius 2 LR pixels, ×scale."""

    def __init__(self, scale: int = 2, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.scale = scale
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 3 * scale * scale, 3, padding=1)

    def forward(self, x):
        y = self.conv2(F.relu(self.conv1(x)))
        return F.pixel_shuffle(y, self.scale) + F.interpolate(x, scale_factor=self.scale, mode="nearest")


class NearestSR(nn.Module):
    """Exact nearest-neighbour ×scale: any tiling must reproduce it bit for bit."""

    def __init__(self, scale: int = 2):
        super().__init__()
        self.scale = scale

    def forward(self, x):
        return x.repeat_interleave(self.scale, 2).repeat_interleave(self.scale, 3)


class _CodeGenerator(SFTGenerator):
    """A kernel-conditioned generator (an ``SFTGenerator`` to the runner: ``cfg.use_kernel``) with a
    3×3 receptive field: a small learned residual over a nearest upscale, an SR-like output the
    guards accept. Skips SFTGenerator's layers: one conv is all these tests need."""

    def __init__(self, scale, code_len):
        nn.Module.__init__(self)
        self.cfg = GeneratorConfig.preset("tiny", scale=scale, use_kernel=True, use_seg=False, code_len=code_len)
        self.conv = nn.Conv2d(3 + code_len, 3 * scale * scale, 3, padding=1)

    def forward(self, lr, code, seg=None):
        stretched = code[:, :, None, None].expand(-1, -1, *lr.shape[-2:])
        residual = 0.05 * F.pixel_shuffle(self.conv(torch.cat([lr, stretched], 1)), self.cfg.scale)
        return residual + F.interpolate(lr, scale_factor=self.cfg.scale, mode="nearest")


class FakePipeline(Pipeline):
    """A ``Pipeline`` around ``_CodeGenerator`` whose ``ikc`` is counted and returns the LR mean as
    the code (no predictor, corrector or PCA)."""

    def __init__(self, scale: int = 2, code_len: int = 10):
        super().__init__(generator=_CodeGenerator(scale, code_len))
        self.ikc_calls = 0
        self.code_len = code_len

    def ikc(self, lr, steps=7, seg=None, guard=True, start_code=None):
        self.ikc_calls += 1
        code = lr.mean(dim=(1, 2, 3))[:, None].expand(-1, self.code_len)
        return IKCResult(srs=[self.generator(lr, code)] * (steps + 1), codes=[code] * (steps + 1),
                         status=["ok"] * lr.shape[0], stop_step=[None] * lr.shape[0],
                         sr_replaced=[0] * lr.shape[0])


def frame_pattern(index: int, width: int, height: int, shot: int = 0) -> np.ndarray:
    """A moving gradient (similar histograms within a shot); shot 1 is a dark, different picture."""
    x = np.arange(width)[None, :]
    y = np.arange(height)[:, None]
    base = (x * 3 + y * 2 + index * 4) % 256 if shot == 0 else (x * y + index) % 40
    rgb = np.stack([base, (base + 60) % 256, 255 - base], axis=-1)
    return rgb.astype(np.uint8)


def make_video(path, frames: int = 12, width: int = 64, height: int = 48, fps: int = 25,
               audio: str | None = "aac", codec: str = "libx264", cut_at: int | None = None) -> None:
    """Write a synthetic clip with PyAV: ``frames`` frames at ``fps`` and a mono audio track."""
    import av
    with av.open(str(path), "w") as container:
        video = container.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = container.add_stream(audio, rate=48000, layout="mono") if audio else None
        for i in range(frames):
            shot = 1 if cut_at is not None and i >= cut_at else 0
            frame = av.VideoFrame.from_ndarray(frame_pattern(i, width, height, shot), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in video.encode(frame):
                container.mux(packet)
        if sound is not None:
            _write_tone(container, sound, seconds=frames / fps)
        for packet in video.encode(None):
            container.mux(packet)


def _write_tone(container, stream, seconds: float) -> None:
    import av
    rate, chunk = 48000, stream.codec_context.frame_size or 1024
    fmt = stream.codec_context.format.name
    for start in range(0, int(rate * seconds), chunk):
        t = (start + np.arange(chunk)) / rate
        samples = (0.2 * np.sin(2 * np.pi * 440 * t))[None]
        if fmt.startswith("s16"):
            samples = (samples * 32767).astype(np.int16)
        else:
            samples = samples.astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format=fmt, layout="mono")
        frame.sample_rate, frame.pts = rate, start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def tiny_pipeline(variant: str, scale: int = 2, seed: int = 0):
    """An untrained tiny Pipeline of one generator variant (srkit.notebook.models.build_pipeline)."""
    from srkit.notebook.models import build_pipeline
    torch.manual_seed(seed)
    return build_pipeline(scale, variant, "tiny").eval()


class FailingOncePipeline(FakePipeline):
    """``FakePipeline`` whose first kernel estimate raises while the file ``flag`` does not exist
    (the estimate creates it): in a chunked video job, exactly one chunk fails once, whichever
    process runs it."""

    def __init__(self, flag, scale: int = 2, code_len: int = 10):
        super().__init__(scale, code_len)
        self.flag = str(flag)

    def ikc(self, lr, steps=7):
        import os
        if not os.path.exists(self.flag):
            open(self.flag, "w").close()
            raise RuntimeError("this chunk fails once")
        return super().ikc(lr, steps)
