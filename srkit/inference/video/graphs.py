"""FFmpeg filter graphs around the model: ``_Pictures`` before it (deinterlace, colour), ``_Output`` after
it (crop/scale/pad/setsar/setfield, the encoder's pixel format and colour tags)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch

from srkit.imageio import sws_exact
from srkit.inference.colour import HD_HEIGHT, SWS_MATRICES, colour_chain
from srkit.inference.video.plan import VideoPlan
from srkit.inference.video.source import _sar


def colorspace_for(height: int, tagged: int | None = None) -> str:
    """swscale's YUV↔RGB matrix: the stream's tag when known, else the convention players follow
    — BT.709 from 720 lines up, BT.601 below."""
    if tagged in SWS_MATRICES:
        return SWS_MATRICES[tagged]
    return "ITU709" if height >= HD_HEIGHT else "ITU601"


def _is_rgb(pix_fmt: str) -> bool:
    import av
    return av.VideoFormat(pix_fmt).is_rgb


class _Pictures:
    """The filter graph before the model: bwdif and the colour conversion (either may be absent:
    the graph then passes frames through). ``push`` a decoded frame, get the pictures ready."""

    def __init__(self, stream, plan: VideoPlan, name: str = "video"):
        self.stream, self.plan, self.graph, self.name = stream, plan, None, name
        self.width, self.height = stream.width, stream.height
        context = stream.codec_context
        self.format = context.format.name if context.format is not None else None
        self.matrix = SWS_MATRICES[plan.out_matrix if plan.colour_filter else plan.matrix]
        self.colour_range = "MPEG" if plan.colour_filter or plan.colour_range != 2 else "JPEG"
        self.rgb = "rgb48le" if plan.float_input else "rgb24"

    def _configure(self, frame) -> None:
        """The graph, for the stream's size and format (those of the first frame where the
        stream declares none)."""
        import av
        self.width, self.height = self.width or frame.width, self.height or frame.height
        self.format = self.format or frame.format.name
        self.graph = av.filter.Graph()
        sar = _sar(self.stream.sample_aspect_ratio) or Fraction(1)
        rate = self.plan.rate * Fraction(5, 4)  # decimate needs the source's frame rate
        node = self.graph.add("buffer", f"video_size={self.width}x{self.height}:"
                                        f"pix_fmt={self.format}:time_base={self.stream.time_base}:"
                                        f"pixel_aspect={sar.numerator}/{sar.denominator}"
                                        + (f":frame_rate={rate}" if self.plan.deinterlace == "ivtc" else ""))
        chain, plan = [], self.plan
        if plan.deinterlace == "ivtc":
            # fieldmatch pairs each field with its partner from the same film frame, bwdif
            # deinterlaces only the frames fieldmatch still finds combed (a cut, a video-shot title),
            # decimate drops the duplicate of each cycle of 5 (FFmpeg's filter documentation)
            chain += [("fieldmatch", f"order={plan.field_order}:combmatch=full"),
                      ("bwdif", f"mode=send_frame:parity={plan.field_order}:deint=interlaced"),
                      ("decimate", None)]
        elif plan.deinterlace:
            mode = "send_field" if plan.deinterlace == "field" else "send_frame"
            chain.append(("bwdif", f"mode={mode}:parity={plan.field_order}:deint=all"))
        chain += colour_chain(plan.colour_filter, self.width, self.height)
        for name, args in chain + [("buffersink", None)]:
            nxt = self.graph.add(name, args) if args else self.graph.add(name)
            node.link_to(nxt)
            node = nxt
        self.graph.configure()

    def push(self, frame) -> list:
        """The pictures ready after ``frame`` (None flushes the graph at the end)."""
        import av
        if self.graph is None:
            if frame is None:
                return []
            self._configure(frame)
        if frame is not None and (frame.width, frame.height) != (self.width, self.height):
            # a spliced stream can switch picture size mid-way; scaled to the first size (as
            # ffmpeg does) its frames would be squeezed, so the job stops (nothing is written)
            at = f"{float(frame.pts * frame.time_base):.2f} s" if frame.pts is not None and \
                frame.time_base else "a later frame"
            raise ValueError(f"{self.name}: the picture size changes at {at} from {self.width}x"
                             f"{self.height} to {frame.width}x{frame.height}; an output holds "
                             "one size, and scaling would squeeze the pictures: split the file "
                             "there and upscale each part")
        if frame is not None and frame.format.name != self.format:
            # a format switch at the same size (8 → 10 bits, 4:2:0 → 4:2:2): converted to the
            # stream's format, which the graph and the encoder were set up for
            pts, time_base = frame.pts, frame.time_base
            frame = frame.reformat(self.width, self.height, self.format, interpolation=sws_exact())
            frame.pts, frame.time_base = pts, time_base
        self.graph.push(frame)
        ready = []
        while True:
            try:
                ready.append(self.graph.pull())
            except (av.BlockingIOError, av.EOFError):
                return ready

    def tensor(self, picture) -> torch.Tensor:
        """A picture → 1×3×H×W tensor (channels-last view): uint8 RGB, or float [0, 1] from
        16-bit RGB."""
        rgb = picture.to_ndarray(format=self.rgb, src_colorspace=self.matrix,
                                 src_color_range=self.colour_range, interpolation=sws_exact())
        tensor = torch.from_numpy(rgb).permute(2, 0, 1)[None]
        if self.rgb == "rgb48le":
            tensor = tensor.float().div_(65535.0)
        return tensor


class _Output:
    """Model output → encoder frames: the plan's filter graph (crop/scale/pad/setsar/setfield)
    when it has one, then the encoder's pixel format with the output colour tags."""

    def __init__(self, plan: VideoPlan):
        import av
        self.plan = plan
        self.rgb = "rgb48le" if plan.float_output else "rgb24"
        self.graph, self.pushed = None, 0
        # Without resampling, an odd last row/column the pixel format cannot hold is cut first.
        self.resamples = "scale=" in plan.geometry
        if plan.geometry:
            self.graph = av.filter.Graph()
            width, height = plan.model_size if self.resamples else (plan.width, plan.height)
            node = self.graph.add("buffer", f"video_size={width}x{height}:pix_fmt={self.rgb}:"
                                            f"time_base={plan.time_base}:pixel_aspect=1/1")
            for part in plan.geometry.split(","):
                name, _, args = part.partition("=")
                nxt = self.graph.add(name, args)
                node.link_to(nxt)
                node = nxt
            sink = self.graph.add("buffersink")
            node.link_to(sink)
            self.graph.configure()

    def frame(self, sr: torch.Tensor):
        """1×3×H×W model output (uint8, or float [0, 1]) → the ``av.VideoFrame`` to encode."""
        import av
        plan = self.plan
        image = sr[0].permute(1, 2, 0)  # H×W×3 view of the channels-last output
        if self.rgb == "rgb48le":
            array = (image.float().clamp(0, 1).numpy() * 65535.0 + 0.5).astype(np.uint16)
        else:
            array = image.numpy()
        if not self.resamples:
            array = array[:plan.height, :plan.width]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format=self.rgb)
        if self.graph is not None:
            frame.pts, frame.time_base = self.pushed, plan.time_base
            self.pushed += 1
            self.graph.push(frame)
            frame = self.graph.pull()
        if _is_rgb(plan.pix_fmt):
            out = frame.reformat(format=plan.pix_fmt, interpolation=sws_exact())
        else:
            out = frame.reformat(format=plan.pix_fmt, dst_colorspace=SWS_MATRICES[plan.out_matrix],
                                 dst_color_range="MPEG", interpolation=sws_exact())
            out.colorspace, out.color_range = plan.out_matrix, 1
        # Encoders that write colour into each frame (ProRes, DNxHR) read the frame's tags.
        out.color_primaries, out.color_trc = plan.out_primaries, plan.out_transfer
        return out


def _tensor_to_frame(sr: torch.Tensor, output: "_Output"):
    """1×3×H×W model output → the ``av.VideoFrame`` to encode (``_Output.frame``)."""
    return output.frame(sr)
