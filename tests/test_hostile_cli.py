"""``srkit upscale`` under hostile conditions: signals, broken batches, existing and read-only
outputs, bad options, unreadable weights, library warnings, truncated videos."""
from __future__ import annotations

import builtins
import errno
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import srkit.checkpoint
import srkit.inference.tiling
import srkit.inference.video
import srkit.inference.video.workers
from srkit.cli import main, signals_as_exceptions
from srkit.imageio import read_image, write_image

from _standins import make_video

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A tiny ×2 generator checkpoint (no kernel or segmentation condition): fast on 2 CPU cores."""
    from srkit.checkpoint import save_checkpoint
    path = tmp_path_factory.mktemp("weights") / "tiny_x2.safetensors"
    return save_checkpoint(path, {"generator": _tiny_generator()})


def _tiny_generator():
    from srkit.models.sft import GeneratorConfig, SFTGenerator
    torch.manual_seed(0)
    return SFTGenerator(GeneratorConfig.preset("tiny", scale=2, use_kernel=False, use_seg=False))


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "in.png"
    write_image(path, _pixels(24))
    return path


def _pixels(size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def _run(*args) -> int:
    """``srkit upscale ARGS`` in this process (``--device cpu`` unless the test gives a device)."""
    args = [str(a) for a in args]
    if "--device" not in args:
        args += ["--device", "cpu"]
    return main(["upscale", *args, "--quiet"])


def _temporary_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.part.*"))


def _errors(capsys) -> list[str]:
    return capsys.readouterr().err.splitlines()


# --------------------------------------------------------------------------------------------
# 1. Signals: a real process, a real signal, while the temporary output file exists.


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """A clip long enough (minutes of CPU work) that the signal always lands mid-transcode."""
    pytest.importorskip("av")
    path = tmp_path_factory.mktemp("clip") / "long.mp4"
    make_video(path, frames=1500, width=32, height=24, audio=None)
    return path


def _default_signal_dispositions():
    # A shell without job control starts background jobs with SIGINT ignored, and the CLI keeps
    # an inherited "ignore" (nohup): give the child the dispositions of an interactive terminal.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


@pytest.mark.parametrize("signum,code,how", [
    (signal.SIGINT, 130, "interrupted"),
    (signal.SIGTERM, 143, "interrupted by SIGTERM"),
    (signal.SIGHUP, 129, "interrupted by SIGHUP"),
])
def test_signal_leaves_nothing_behind(signum, code, how, long_clip, weights, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "big.mp4"
    command = [sys.executable, "-m", "srkit.cli", "upscale", str(long_clip), "-o", str(target),
               "--weights", str(weights), "--device", "cpu", "--quiet"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=_default_signal_dispositions)
    try:
        deadline = time.monotonic() + 180
        while not list(out_dir.rglob(".*.part.mp4")):  # a chunk being written
            if process.poll() is not None:
                pytest.fail(f"exited {process.returncode} before writing: {process.communicate()}")
            assert time.monotonic() < deadline, "no temporary output file after 180 s"
            time.sleep(0.02)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == code, stderr
    work = out_dir / "big.mp4.srkit-work"
    assert stderr.splitlines()[0].startswith(f"srkit upscale: work folder {work}: 1500 frames")
    assert stderr.splitlines()[1:] == [
        f"srkit upscale: {how}; nothing was left under {target}; the finished chunks stay in "
        f"{work}: run the same command to resume (--fresh starts over)"]
    assert "Traceback" not in stderr and stdout == ""
    # no final output and no temporary file: only the work folder, for the next run to resume
    assert list(out_dir.iterdir()) == [work] and not list(work.rglob("*.part*"))


@pytest.fixture
def sigint_not_ignored():
    """Python's own SIGINT handler for the test: a runner started as a background job of a
    non-interactive shell inherits SIGINT ignored, and ``signals_as_exceptions`` keeps an inherited
    ignore (as it must for the user's ``nohup``-style launches)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class _SignalInFinaliser:
    """Sends SIGINT to this process from ``__del__``: Python runs the handler there, at once, and can
    only print "Exception ignored in ..." and drop its KeyboardInterrupt (as when the signal lands
    while a generator, weakref callback or C callback of PyAV/torch runs)."""

    def __del__(self):
        # to the main thread itself: os.kill may hand the signal to a torch or FFmpeg thread, and the
        # main thread would then run the handler only after this method returned (not dropped)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        time.sleep(0.05)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_interrupt_python_dropped_still_stops_the_video_job(weights, tmp_path, monkeypatch, capsys,
                                                                 sigint_not_ignored):
    """The job used to run on to the end and exit 0 (the intermittent failure of the test above):
    the recorded signal stops it at the next frame, and nothing is written under the output."""
    pytest.importorskip("av")
    import srkit.inference.video.stitch
    clip = tmp_path / "clip.mp4"
    make_video(clip, frames=12, width=32, height=24, audio=None)
    real, calls = srkit.inference.video.stitch._tensor_to_frame, []

    def drop_an_interrupt(*args):
        calls.append(1)
        if len(calls) == 2:
            _SignalInFinaliser()  # collected at once: SIGINT handled, its exception dropped
        return real(*args)
    monkeypatch.setattr(srkit.inference.video.stitch, "_tensor_to_frame", drop_an_interrupt)
    target = tmp_path / "out" / "big.mp4"
    assert _run(clip, "-o", target, "--weights", weights, "--chunk-frames", "4") == 130
    work = target.with_name("big.mp4.srkit-work")
    lines = [line for line in _errors(capsys) if not line.startswith(("Exception ignored", "Traceback",
                                                                         " ", "KeyboardInterrupt"))]
    assert lines[1:] == [f"srkit upscale: interrupted; nothing was left under {target}; the finished "
                         f"chunks stay in {work}: run the same command to resume (--fresh starts over)"]
    assert len(calls) == 2  # stopped at the next frame
    assert sorted(p.name for p in target.parent.iterdir()) == [work.name]
    assert not list(work.rglob("*.part*")) and not list(work.glob("done/*"))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_recorded_signal_is_raised_again_and_forgotten_after_the_command(sigint_not_ignored):
    import srkit.interrupt
    with signals_as_exceptions():
        _SignalInFinaliser()
        assert srkit.interrupt.received() == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):
            srkit.interrupt.check()
    assert srkit.interrupt.received() is None
    srkit.interrupt.check()  # nothing recorded: no-op


def test_signal_handlers_only_while_running_keeping_an_inherited_ignore():
    before_term = signal.getsignal(signal.SIGTERM)
    before_hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        with signals_as_exceptions():
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        with signals_as_exceptions():
            assert signal.getsignal(signal.SIGTERM) not in (before_term, signal.SIG_DFL)
            with pytest.raises(KeyboardInterrupt) as caught:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(1)  # the handler runs at the next bytecode boundary
            assert caught.value.signum == signal.SIGTERM
            os.kill(os.getpid(), signal.SIGHUP)  # a repeat (a closed terminal sends two) is dropped
            os.kill(os.getpid(), signal.SIGTERM)  # so that the cleanup it started can finish
            time.sleep(0.2)
        assert signal.getsignal(signal.SIGTERM) == before_term
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGHUP, before_hup)


def test_interrupted_batch_keeps_finished_outputs(weights, tmp_path, monkeypatch, capsys):
    source = _folder(tmp_path, ["a.png", "b.png", "c.png"])
    real, calls = srkit.inference.tiling.upscale, []

    def interrupt_second(image, model, **kwargs):
        calls.append(kwargs["name"])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(image, model, **kwargs)
    monkeypatch.setattr(srkit.inference.tiling, "upscale", interrupt_second)
    out = tmp_path / "up"
    assert _run(source, "-o", out, "--weights", weights) == 130
    assert _errors(capsys) == [f"srkit upscale: interrupted after 1 of 3 images; the finished ones "
                               f"stay in {out} and no partial file was left; run the same command "
                               "to resume"]
    assert [p.name for p in out.iterdir()] == ["a.png"]


# --------------------------------------------------------------------------------------------
# 2. Folder batches: past failures, resume, --overwrite.


def _folder(tmp_path: Path, names: list[str], size: int = 12) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir(exist_ok=True)
    for i, name in enumerate(names):
        write_image(folder / name, _pixels(size, seed=i))
    return folder


def test_batch_goes_on_past_bad_files(weights, tmp_path, monkeypatch, capsys):
    long_name = "l" * 236 + ".png"  # fits, but its temporary ".NAME.XXXXXXXX.part.png" does not
    source = _folder(tmp_path, ["a.png", "c.png"])
    from PIL import Image
    Image.fromarray(_pixels(12)).save(source / long_name)  # not write_image: its temporary name
    (source / "b.png").write_bytes(b"\x89PNG but not really")   # corrupt
    (source / "d.png").write_bytes(b"")                        # empty
    real, seen = srkit.inference.tiling.upscale, {}

    def spy(image, model, **kwargs):
        if kwargs["name"].endswith("c.png"):  # b.png's failure must be reported before c.png runs
            seen["err_before_c"] = capsys.readouterr().err
        return real(image, model, **kwargs)
    monkeypatch.setattr(srkit.inference.tiling, "upscale", spy)
    out = tmp_path / "up"
    assert _run(source, "-o", out, "--weights", weights) == 1
    err = seen["err_before_c"] + capsys.readouterr().err
    assert "srkit upscale: failed b.png: cannot read image" in seen["err_before_c"]
    lines = err.splitlines()
    assert sum(line.startswith("srkit upscale: failed ") for line in lines) == 3
    summary = lines.index("srkit upscale: 3 of 5 images failed (2 written to " + f"{out}):")
    listed = lines[summary + 1:]
    assert [line.split(":")[1].strip() for line in listed] == ["b.png", "d.png", long_name]
    assert long_name in listed[2] and "at most 236 fit" in listed[2]
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "c.png"]
    assert read_image(out / "c.png").shape == (24, 24, 3)


def test_batch_resumes_by_skipping_existing_outputs(weights, tmp_path, monkeypatch, capsys):
    source = _folder(tmp_path, ["a.png", "b.png", "c.png"])
    out = tmp_path / "up"
    out.mkdir()
    write_image(out / "a.png", np.zeros((4, 4, 3), np.uint8))  # finished by an earlier run
    real, calls = srkit.inference.tiling.upscale, []

    def counting(image, model, **kwargs):
        calls.append(Path(kwargs["name"]).name)
        return real(image, model, **kwargs)
    monkeypatch.setattr(srkit.inference.tiling, "upscale", counting)
    assert _run(source, "-o", out, "--weights", weights) == 0
    assert calls == ["b.png", "c.png"]
    assert f"skipped 1 of 3 images whose output already exists in {out}" in capsys.readouterr().err
    assert read_image(out / "a.png").shape == (4, 4, 3)  # not redone

    # Everything done: nothing to do, not even loading the model (here: a missing checkpoint).
    assert _run(source, "-o", out, "--weights", tmp_path / "gone.safetensors") == 0
    assert "skipped 3 of 3 images" in capsys.readouterr().err and len(calls) == 2

    assert _run(source, "-o", out, "--weights", weights, "--overwrite") == 0
    assert calls[2:] == ["a.png", "b.png", "c.png"]
    assert "skipped" not in capsys.readouterr().err
    assert read_image(out / "a.png").shape == (24, 24, 3)


def test_batch_read_only_output_is_skipped_or_a_failure(weights, tmp_path, capsys):
    source = _folder(tmp_path, ["a.png", "b.png"])
    out = tmp_path / "up"
    out.mkdir()
    keep = out / "a.png"
    write_image(keep, np.zeros((4, 4, 3), np.uint8))
    keep.chmod(0o444)
    assert _run(source, "-o", out, "--weights", weights) == 0           # resume: skipped
    assert "skipped 1 of 2" in capsys.readouterr().err
    (out / "b.png").unlink()
    assert _run(source, "-o", out, "--weights", weights, "--overwrite") == 1
    err = capsys.readouterr().err
    assert f"failed a.png: output {keep} exists and is read-only" in err
    assert "1 of 2 images failed" in err
    assert read_image(keep).shape == (4, 4, 3) and read_image(out / "b.png").shape == (24, 24, 3)
    assert _temporary_files(out) == []


# --------------------------------------------------------------------------------------------
# 3. Existing single outputs: a writable one is replaced, a read-only one refused before any work.


def test_single_writable_output_is_replaced(image, weights, tmp_path):
    target = tmp_path / "o.png"
    write_image(target, np.zeros((4, 4, 3), np.uint8))
    assert _run(image, "-o", target, "--weights", weights) == 0
    assert read_image(target).shape == (48, 48, 3)


@pytest.mark.parametrize("kind", ["image", "video"])
def test_single_read_only_output_is_refused(kind, image, weights, tmp_path, monkeypatch, capsys):
    if kind == "video":
        image = tmp_path / "in.mp4"
        image.write_bytes(b"never read: the output is refused first")
    target = tmp_path / f"o{image.suffix}"
    target.write_bytes(b"keep me")
    target.chmod(0o444)
    monkeypatch.setattr(srkit.checkpoint, "load_pipeline", _no_model)
    assert _run(image, "-o", target, "--weights", weights) == 2
    assert _errors(capsys) == [f"srkit upscale: error: output {target} exists and is read-only; "
                               "srkit does not replace it (make it writable, or remove it)"]
    assert target.read_bytes() == b"keep me" and _temporary_files(tmp_path) == []


def _no_model(*args, **kwargs):
    raise AssertionError("the model was loaded before the arguments were checked")


# --------------------------------------------------------------------------------------------
# 4. Every argument is checked before the model loads.

LONG = "x" * 300 + ".png"
BAD_ARGUMENTS = [
    ("image", ["--tile", "-1"], "--tile -1: use 0 (no tiling) or a tile of at least 16"),
    ("image", ["--tile", "8"], "--tile 8: use 0 (no tiling) or a tile of at least 16"),
    ("image", ["--tile", "16", "--overlap", "0"], "--overlap 0: tiles need at least 8 LR pixels of context a "
                                                  "side or their seams show (the bundled x2 at --overlap 0: "
                                                  "up to 51 levels, 40.4 dB against the untiled output); "
                                                  "use --overlap 8 or more"),
    ("image", ["--overlap", "7"], "--overlap 7: tiles need at least 8 LR pixels of context"),
    ("image", ["--overlap", "-2"], "--overlap -2: must be >= 0"),
    ("image", ["--tile", "16", "--overlap", "16"], "--overlap 16: must be smaller than --tile 16"),
    ("image", ["--overlap", "300"], "--overlap 300: must be smaller than the tile"),
    ("video", ["--crf", "52"], "--crf 52: must be 0-51"),
    ("video", ["--crf", "-1"], "--crf -1: must be 0-51"),
    ("image", ["--steps", "21"], "--steps 21: must be 0-20"),
    ("image", ["--steps", "-1"], "--steps -1: must be 0-20"),
    ("image", ["--device", "banana"], "--device 'banana': not a device name"),
    ("image", ["--device", "cuda"], "--device cuda: CUDA is not available"),
    ("image", ["--device", "cuda:1"], "--device cuda:1: CUDA is not available"),
    ("image", ["--device", "meta"], "--device meta: meta is not available here"),
    ("image", ["-o", LONG], f"output name {LONG!r} is 304 bytes; file systems allow 255"),
    ("image", ["-o", "l" * 237 + ".png"], f"output file name {'l' * 237 + '.png'!r} is 241 bytes; "
                                          "at most 236 fit"),
    ("image", ["-o", "blocker/o.png"], "output folder {tmp}/blocker is not writable"),
    ("image", ["-o", "o.xyz"], "output {tmp}/o.xyz: unknown image suffix '.xyz'"),
    ("video", ["-o", "o.png"], "output {tmp}/o.png: unknown video suffix '.png'"),
    ("video", ["-o", "o.avi"], "output {tmp}/o.avi: --codec h264 cannot be written to a .avi file"),
    ("video", ["-o", "o.mp4", "--codec", "ffv1"], "--codec ffv1 cannot be written to a .mp4 file"),
]


@pytest.mark.parametrize("kind,extra,message", BAD_ARGUMENTS,
                         ids=[" ".join(extra)[:40] for _, extra, _ in BAD_ARGUMENTS])
def test_bad_argument_exits_2_before_the_model_loads(kind, extra, message, image, tmp_path,
                                                     monkeypatch, capsys):
    source = image if kind == "image" else tmp_path / "in.mp4"
    if kind == "video":
        source.write_bytes(b"never read: the arguments are refused first")
    (tmp_path / "blocker").write_text("a file where a folder is needed")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # same answer on a GPU machine
    monkeypatch.setattr(srkit.checkpoint, "load_pipeline", _no_model)
    if "-o" in extra:
        at = extra.index("-o") + 1
        extra = [*extra[:at], str(tmp_path / extra[at]), *extra[at + 1:]]
    else:
        extra = [*extra, "-o", str(tmp_path / f"o{source.suffix}")]
    # A checkpoint that does not exist: an argument checked too late would report it instead.
    assert _run(source, *extra, "--weights", tmp_path / "none.safetensors") == 2
    lines = _errors(capsys)
    assert len(lines) == 1 and lines[0].startswith("srkit upscale: error: "), lines
    assert message.format(tmp=tmp_path) in lines[0]
    assert list(tmp_path.glob("o*")) == []


def test_default_overlap_fits_a_small_tile(image, weights, tmp_path, monkeypatch):
    real, seen = srkit.inference.tiling.upscale, {}

    def spy(img, model, **kwargs):
        seen.update(kwargs)
        return real(img, model, **kwargs)
    monkeypatch.setattr(srkit.inference.tiling, "upscale", spy)
    assert _run(image, "-o", tmp_path / "o.png", "--weights", weights, "--tile", 16) == 0
    assert (seen["tile"], seen["overlap"]) == (16, 15)


def test_overlap_below_the_minimum_is_fine_without_tiles(image, weights, tmp_path):
    assert _run(image, "-o", tmp_path / "o.png", "--weights", weights, "--tile", 0, "--overlap", 0) == 0


# --------------------------------------------------------------------------------------------
# 5. Weights: unreadable is a permission problem; checkpoints get the usual permissions.


def test_unreadable_weights_is_a_permission_problem(image, weights, tmp_path, monkeypatch, capsys):
    locked = tmp_path / "locked.safetensors"
    shutil.copy(weights, locked)
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads a mode-000 file anyway: let open() answer as for a user
        real_open = builtins.open

        def open_as_a_user(file, *args, **kwargs):
            if isinstance(file, (str, os.PathLike)) and os.fspath(file) == str(locked):
                raise PermissionError(errno.EACCES, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)
        monkeypatch.setattr(builtins, "open", open_as_a_user)
    with pytest.raises(PermissionError, match="locked.safetensors: permission denied"):
        srkit.checkpoint.load_checkpoint(locked)
    assert _run(image, "-o", tmp_path / "o.png", "--weights", locked) == 2
    [line] = _errors(capsys)
    assert f"cannot read weights {locked}: permission denied" in line
    assert "corrupt" not in line


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600)])
def test_checkpoint_permissions_follow_the_umask(umask, mode, tmp_path):
    from srkit.checkpoint import save_checkpoint
    previous = os.umask(umask)
    try:
        first = save_checkpoint(tmp_path / "c.safetensors", {"generator": _tiny_generator()})
        again = save_checkpoint(first, {"generator": _tiny_generator()})  # replacing one, too
    finally:
        os.umask(previous)
    assert stat.S_IMODE(again.stat().st_mode) == mode
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]


def _with_header(source: Path, target: Path, edit) -> Path:
    """A copy of a checkpoint whose srkit header ``edit(header)`` changed; the tensors (and the
    checksum over them) are left as they are."""
    import json
    import struct
    raw = source.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    table = json.loads(raw[8:8 + size])
    header = json.loads(table["__metadata__"]["srkit"])
    edit(header)
    table["__metadata__"]["srkit"] = json.dumps(header)
    text = json.dumps(table).encode()
    text += b" " * (-len(text) % 8)  # safetensors keeps the data 8-byte aligned
    target.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + size:])
    return target


def _generator_config(**fields):
    def edit(header):
        header["modules"]["generator"]["config"].update(fields)
    return edit


HOSTILE_HEADERS = [
    ("nf65536", _generator_config(nf=65536),
     "module 'generator' (SFTGenerator) asks for nf = 65,536; srkit accepts 1 to 4,096"),
    ("nb1e9", _generator_config(nb=10 ** 9),
     "module 'generator' (SFTGenerator) asks for nb = 1,000,000,000; srkit accepts 1 to 4,096"),
    ("nf128", _generator_config(nf=128), "tensors of module 'generator' do not match its config"),
    ("nb0", _generator_config(nb=0), "asks for nb = 0; srkit accepts 1 to 4,096"),
    ("scale3", lambda h: h.update(scale=3), "module 'generator' is configured for ×2 but the header says ×3"),
    ("scale1e6", lambda h: h.update(scale=10 ** 6), "header scale 1000000 is not an integer factor 1 to 8"),
    ("categories", lambda h: h.update(categories="sky"), "header categories must be a list"),
    ("config", lambda h: h["modules"]["generator"].update(config=[1]), "config is list, not a table"),
]


@pytest.mark.parametrize("name,edit,message", HOSTILE_HEADERS, ids=[h[0] for h in HOSTILE_HEADERS])
def test_hostile_header_is_refused_before_any_network_is_built(name, edit, message, weights, tmp_path,
                                                              monkeypatch):
    import srkit.models.sft
    built = []
    real_init = srkit.models.sft.SFTGenerator.__init__

    def spy(self, cfg):  # only shape-only ("meta") builds may happen before the tensors are checked
        built.append(str(torch.empty(0).device))
        real_init(self, cfg)
    monkeypatch.setattr(srkit.models.sft.SFTGenerator, "__init__", spy)
    path = _with_header(weights, tmp_path / f"{name}.safetensors", edit)
    with pytest.raises(ValueError, match=re.escape(f"{path}: ") + ".*" + re.escape(message)):
        srkit.checkpoint.load_pipeline(path)
    assert "cpu" not in built


def test_header_pca_fields_are_checked(tmp_path):
    from srkit.checkpoint import save_checkpoint
    from srkit.kernels import KernelPCA
    from srkit.models.sft import GeneratorConfig, SFTGenerator
    generator = SFTGenerator(GeneratorConfig.preset("tiny", scale=2, use_kernel=True, use_seg=False))
    path = save_checkpoint(tmp_path / "k.safetensors", {"generator": generator}, pca=KernelPCA.fit(2, b=10, n=300))
    bad = _with_header(path, tmp_path / "ks.safetensors", lambda h: h["pca"].update(kernel_size=100001))
    with pytest.raises(ValueError, match="header pca kernel_size 100001 is not an integer 1 to 64"):
        srkit.checkpoint.load_pipeline(bad)
    bad = _with_header(path, tmp_path / "b.safetensors", lambda h: h["pca"].update(b=12))
    with pytest.raises(ValueError, match="module 'generator' takes kernel codes of length 10 but the PCA gives 12"):
        srkit.checkpoint.load_pipeline(bad)


def test_non_finite_weights_are_refused_naming_the_file(image, tmp_path, capsys):
    from srkit.checkpoint import save_checkpoint
    generator = _tiny_generator()
    with torch.no_grad():
        for parameter in generator.parameters():
            parameter.fill_(float("nan"))
    path = save_checkpoint(tmp_path / "nan.safetensors", {"generator": generator})
    assert _run(image, "-o", tmp_path / "o.png", "--weights", path) == 2
    [line] = _errors(capsys)
    count = len(generator.state_dict())
    assert re.fullmatch(rf"srkit upscale: error: cannot load weights '{re.escape(str(path))}': "
                        rf"{re.escape(str(path))}: {count} of its {count} tensors hold NaN or infinite "
                        r"values \(generator\.[\w.]+: [\d,]+ of [\d,]+\); srkit refuses non-finite weights "
                        r"\(a diverged training run or a damaged file\)", line), line
    assert not (tmp_path / "o.png").exists()


def test_replaced_share_reads_as_a_percentage():
    from srkit.inference.guard import replaced_message
    assert replaced_message("a.png", 400, 400).startswith("a.png: 100.0% of the output pixels")
    assert replaced_message("a.png", 1, 40000).startswith("a.png: 0.003% of the output pixels")


def test_pytorch_pickle_is_named_and_refused(image, tmp_path, capsys):
    path = tmp_path / "model.pt"
    torch.save(_tiny_generator().state_dict(), path)
    legacy = tmp_path / "legacy.pth"
    torch.save({"w": torch.zeros(2)}, legacy, _use_new_zipfile_serialization=False)
    for weights in (path, legacy):
        assert _run(image, "-o", tmp_path / "o.png", "--weights", weights) == 2
        [line] = _errors(capsys)
        assert f"{weights}: is a PyTorch pickle" in line and "unpickling can run any code" in line, line
        assert "corrupt" not in line and "torch.load(path, weights_only=True)" in line


def test_bundle_name_with_its_suffix_lists_the_bundles(image, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert _run(image, "-o", tmp_path / "o.png", "--weights", "x2.safetensors") == 2
    [line] = _errors(capsys)
    names = ", ".join(srkit.checkpoint.bundled_names())
    assert line == ("srkit upscale: error: cannot load weights 'x2.safetensors': checkpoint not found: "
                    f"x2.safetensors; the bundled model is named without the suffix: x2 (bundled: {names})")
    assert "x2_archive" in names


# --------------------------------------------------------------------------------------------
# Options that do nothing for this input, scales without a model, limits of the output format.

VIDEO_ONLY = [["--codec", "ffv1"], ["--crf", "20"], ["--fit", "1920x1080"], ["--deinterlace", "off"],
              ["--keep-colour"], ["--square-pixels"], ["--allow-partial"],
              # the video job's options: an image is no job of chunks
              ["--workers", "2"], ["--ray"], ["--ray", "10.0.0.1:6379"], ["--fresh"], ["--retries", "0"],
              ["--chunk-frames", "10"], ["--step", "plan"], ["--chunk", "1"]]


@pytest.mark.parametrize("extra", VIDEO_ONLY, ids=["".join(e) for e in VIDEO_ONLY])
@pytest.mark.parametrize("kind", ["image", "folder"])
def test_video_options_on_images_are_refused(kind, extra, image, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(srkit.checkpoint, "load_pipeline", _no_model)
    source = image if kind == "image" else image.parent
    target = tmp_path / ("o.png" if kind == "image" else "out")
    assert _run(source, "-o", target, *extra) == 2
    what = "an image" if kind == "image" else "a folder of images"
    assert _errors(capsys) == [f"srkit upscale: error: {extra[0]} acts on video only, and {source} is "
                               f"{what}; drop it"]


def test_scale_without_a_bundled_model_is_refused(image, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(srkit.checkpoint, "load_pipeline", _no_model)
    assert _run(image, "-o", tmp_path / "o.png", "--scale", 3) == 2
    names = ", ".join(srkit.checkpoint.bundled_names())
    assert _errors(capsys) == [f"srkit upscale: error: --scale 3: no x3 model is bundled (bundled: {names}); "
                               "give --weights a x3 checkpoint"]


def test_auto_line_names_only_the_bundles_of_the_scale():
    from srkit.commands.upscaling.models import default_weights
    assert default_weights("image", 4)[1].startswith("default for images: per file x4 or x4_archive by its")
    assert default_weights("image", 2)[1].startswith("default for images: per file x2, x2_noise or "
                                                     "x2_archive by its")


@pytest.mark.parametrize("suffix,side", [(".webp", 16383), (".jpg", 65500)])
def test_output_too_large_for_its_format_is_refused_before_the_model_runs(suffix, side, weights, tmp_path,
                                                                        monkeypatch, capsys):
    wide = tmp_path / "wide.png"
    width = side // 2 + 1
    write_image(wide, np.zeros((2, width, 3), np.uint8))
    monkeypatch.setattr(srkit.inference.tiling, "upscale", _no_model)
    target = tmp_path / f"o{suffix}"
    assert _run(wide, "-o", target, "--weights", weights) == 2
    assert _errors(capsys) == [f"srkit upscale: error: {wide}: the output would be {2 * width}x4 pixels, and "
                               f"a {suffix} file holds at most {side:,} pixels a side; use .png or .tif for "
                               f"{target}"]


def test_disk_full_in_a_batch_names_the_image_and_what_was_done(weights, tmp_path, monkeypatch, capsys):
    from PIL import Image
    folder = _folder(tmp_path, ["a.png", "b.png", "c.png"])
    real_save, saved = Image.Image.save, []

    def fill_disk_on_the_second(self, fp, *args, **kwargs):
        if saved:
            raise OSError(errno.ENOSPC, "No space left on device", str(fp))
        saved.append(fp)
        return real_save(self, fp, *args, **kwargs)
    monkeypatch.setattr(Image.Image, "save", fill_disk_on_the_second)
    out = tmp_path / "out"
    assert _run(folder, "-o", out, "--weights", weights) == 1
    assert _errors(capsys)[-1] == (f"srkit upscale: error: disk full while writing {out / 'b.png'} (from "
                                   f"{folder / 'b.png'}); nothing was left under that name; 1 of 3 images "
                                   f"were written to {out} before it; free some space and run the same "
                                   "command to resume")
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]


# --------------------------------------------------------------------------------------------
# Temporary files a killed run left behind.


def test_leftover_of_a_killed_writer_is_found_and_removed(image, weights, tmp_path, capsys):
    from srkit.imageio import leftover_parts
    target = tmp_path / "o.png"
    code = ("import sys, time; from srkit.imageio import atomic_path\n"
            "with atomic_path(sys.argv[1]) as tmp:\n"
            "    tmp.write_bytes(b'x' * 48); print(tmp, flush=True); time.sleep(60)")
    writer = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True,
                              cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    part = Path(writer.stdout.readline().strip())
    os.utime(part, (time.time() - 60, time.time() - 60))
    assert leftover_parts(target) == []  # still being written: not a leftover
    writer.kill()  # SIGKILL: no cleanup runs
    writer.wait()
    assert part.exists() and leftover_parts(target) == [part]
    assert _run(image, "-o", target, "--weights", weights) == 0
    assert _errors(capsys) == [f"srkit upscale: removed 1 temporary file that an interrupted earlier run "
                               f"left in {tmp_path}: {part.name}"]
    assert not part.exists() and target.is_file() and _temporary_files(tmp_path) == []


def test_a_fresh_temporary_file_is_not_taken_for_a_leftover(tmp_path):
    from srkit.imageio import leftover_parts
    (tmp_path / ".o.png.0123abcd.part.png").write_bytes(b"just created, lock not yet taken")
    assert leftover_parts(tmp_path / "o.png") == []


# --------------------------------------------------------------------------------------------
# Precision: 16-bit and float files give 16-bit or float files where the format holds them.


def _nearest(image, model, **kwargs):
    """Stand-in for the model: nearest ×2, so the exact output of any input is known."""
    assert image.dtype != np.uint8, "a 16-bit or float file must reach the model unrounded"
    return np.asarray(image).repeat(2, 0).repeat(2, 1)


@pytest.mark.parametrize("layout", ["gray", "rgb", "rgba"])
@pytest.mark.parametrize("suffix", [".png", ".tif", ".ppm"])
def test_16_bit_files_give_16_bit_outputs(layout, suffix, weights, tmp_path, monkeypatch, capsys):
    from srkit.imageio import read_alpha, read_image_bits
    shape = {"gray": (12, 10), "rgb": (12, 10, 3), "rgba": (12, 10, 4)}[layout]
    values = np.random.default_rng(1).integers(0, 65536, shape, dtype=np.uint16)
    if layout == "rgba":
        values[..., 3] = 65535  # opaque: the alpha is 8-bit in srkit, the picture is what is tested
        values[0, 0, 3] = 0
    source = tmp_path / f"in{suffix}"
    write_image(source, values)
    monkeypatch.setattr(srkit.inference.tiling, "upscale", _nearest)
    target = tmp_path / f"o{suffix}"
    assert _run(source, "-o", target, "--weights", weights) == 0
    out, bits = read_image_bits(target)
    assert bits == 16 and _errors(capsys) == []
    picture = values[..., :3] if layout != "gray" else np.repeat(values[..., None], 3, 2)
    np.testing.assert_array_equal(np.round(out * 65535).astype(np.uint16), picture.repeat(2, 0).repeat(2, 1))
    if layout == "rgba" and suffix != ".ppm":
        assert read_alpha(target) is not None


def test_float_tiff_gives_a_float_tiff_and_a_jpeg_says_it_is_8_bit(weights, tmp_path, monkeypatch, capsys):
    import tifffile
    from srkit.imageio import read_image_bits
    values = np.random.default_rng(2).random((12, 10, 3)).astype(np.float32)
    source = tmp_path / "in.tif"
    tifffile.imwrite(source, values, photometric="rgb")
    monkeypatch.setattr(srkit.inference.tiling, "upscale", _nearest)
    assert _run(source, "-o", tmp_path / "o.tif", "--weights", weights) == 0
    out, bits = read_image_bits(tmp_path / "o.tif")
    assert bits == 32 and np.array_equal(out, values.repeat(2, 0).repeat(2, 1))
    assert _run(source, "-o", tmp_path / "o.jpg", "--weights", weights) == 0
    assert _errors(capsys) == [f"srkit upscale: warning: {source}: float samples, but a .jpg file holds 8 bits; "
                               f"{tmp_path / 'o.jpg'} was written with 8 (.png or .tif keep 16, .tif keeps float)"]


# --------------------------------------------------------------------------------------------
# 6. Library warnings: one line each, the previous showwarning restored.


def test_warnings_are_one_line_each(image, weights, tmp_path, monkeypatch, capsys):
    real, seen = srkit.inference.tiling.upscale, {}

    def warning_upscale(img, model, **kwargs):
        seen["name"] = kwargs.get("name")
        warnings.warn(f"{kwargs['name']}: kernel estimate did not converge;\n  fell back to the "
                      "mean kernel", UserWarning)
        warnings.warn("a second\nwarning", RuntimeWarning)
        return real(img, model, **kwargs)
    monkeypatch.setattr(srkit.inference.tiling, "upscale", warning_upscale)
    before = warnings.showwarning
    assert _run(image, "-o", tmp_path / "o.png", "--weights", weights) == 0
    assert warnings.showwarning is before
    assert seen["name"] == str(image)
    assert _errors(capsys) == [
        f"srkit upscale: warning: {image}: kernel estimate did not converge; fell back to the mean kernel",
        "srkit upscale: warning: RuntimeWarning: a second warning",
    ]


# --------------------------------------------------------------------------------------------
# 7. Video: --allow-partial passed through when srkit.inference.video has it; truncated videos exit 1.


@pytest.fixture
def fake_clip(tmp_path):
    clip = tmp_path / "in.mp4"
    clip.write_bytes(b"not decoded: upscale_video is replaced in these tests")
    return clip


def test_allow_partial_is_passed_when_supported(fake_clip, weights, tmp_path, monkeypatch):
    calls = []

    def upscale_video_job(source, target, runner, options, *args, **kwargs):
        calls.append(options.allow_partial)
    monkeypatch.setattr(srkit.inference.video.workers, "upscale_video_job", upscale_video_job)
    assert _run(fake_clip, "-o", tmp_path / "o.mp4", "--weights", weights, "--allow-partial") == 0
    assert _run(fake_clip, "-o", tmp_path / "o.mp4", "--weights", weights) == 0
    assert calls == [True, False]


def test_truncated_video_exits_1(fake_clip, weights, tmp_path, monkeypatch, capsys):
    class PartialVideoError(ValueError):
        pass

    def upscale_video_job(source, target, *args, **kwargs):
        raise PartialVideoError(f"{source}: decoded 40 of 100 frames; the file is truncated")
    monkeypatch.setattr(srkit.inference.video, "PartialVideoError", PartialVideoError)
    monkeypatch.setattr(srkit.inference.video.workers, "upscale_video_job", upscale_video_job)
    assert _run(fake_clip, "-o", tmp_path / "o.mp4", "--weights", weights) == 1
    [line] = _errors(capsys)
    assert line.startswith(f"srkit upscale: error: {fake_clip}: decoded 40 of 100 frames")

    def broken(source, target, *args, **kwargs):
        raise ValueError(f"cannot read video {source}: invalid data")
    monkeypatch.setattr(srkit.inference.video.workers, "upscale_video_job", broken)
    assert _run(fake_clip, "-o", tmp_path / "o.mp4", "--weights", weights) == 2  # not truncated
