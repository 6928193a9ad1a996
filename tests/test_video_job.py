"""Video jobs in chunks (srkit.inference.video.job): resumed, in 2 worker processes, on a local Ray
cluster and as cluster steps, a job gives the frames (FFV1, lossless) and audio bytes of one pass."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

av = pytest.importorskip("av")

from srkit.inference.runner import ModelRunner
from srkit.imageio import temporary_files
from srkit.inference.video import ShotDetector, upscale_video
from srkit.inference.video.chunks import split_chunks, Scan
from srkit.inference.video.job import JobOptions, VideoJob
from srkit.inference.video.workers import ChunksFailed, upscale_video_job

from _standins import FailingOncePipeline, FakePipeline, make_video

SHOT = 8  # frames: the cut detector's refresh, and the chunk cap (small, so 40 frames make 6 chunks)
OPTIONS = dict(scale=2, codec="ffv1", chunk_frames=SHOT, max_shot_frames=SHOT)


def _decoded(path):
    """(frames as (pts, RGB bytes), audio packets as (pts, bytes)) of a file."""
    with av.open(str(path)) as container:
        frames = [(f.pts, f.to_ndarray(format="rgb24").tobytes()) for f in container.decode(video=0)]
        container.seek(0)
        audio = [(p.pts, bytes(p)) for p in container.demux(audio=0) if p.dts is not None]
    return frames, audio


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """40 frames at 25 fps with a hard cut at frame 13 and PCM audio."""
    path = tmp_path_factory.mktemp("job") / "clip.mkv"
    make_video(path, frames=40, width=40, height=30, fps=25, audio="pcm_s16le", cut_at=13)
    return path


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return FakePipeline(2)


@pytest.fixture(scope="module")
def one_pass(clip, model, tmp_path_factory):
    """What ``upscale_video`` writes in one pass: the reference for every chunked run."""
    target = tmp_path_factory.mktemp("one") / "one.mkv"
    result = upscale_video(clip, target, model, codec="ffv1", device="cpu", progress=False,
                           shots=ShotDetector(max_shot_frames=SHOT))
    assert result.frames == 40 and result.shots == 6  # cuts at 0, 8, 13 (hard cut), 21, 29, 37
    return _decoded(target)


def test_chunks_hold_whole_shots_under_the_cap():
    scan = Scan(pts=list(range(30)), shot_starts=[0, 4, 10, 22, 25])
    chunks = split_chunks(scan, max_frames=10)
    assert [(c.start, c.stop, c.shots) for c in chunks] == \
        [(0, 10, [0, 4]), (10, 22, [10]), (22, 30, [22, 25])]  # a 12-frame shot is a chunk alone
    assert [c.seek for c in chunks] == [False, True, True]
    scan.seekable = False
    assert [(c.start, c.stop, c.seek) for c in split_chunks(scan, 10)] == [(0, 30, False)]


def test_interrupted_job_resumes_to_the_frames_of_one_pass(clip, model, one_pass, tmp_path):
    target = tmp_path / "out.mkv"
    runner = ModelRunner.wrap(model, device="cpu")
    said = []

    def stop_after_two(index):
        if index == 1:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        upscale_video_job(clip, target, runner, JobOptions(**OPTIONS), progress=False,
                          say=said.append, on_chunk=stop_after_two)
    work = target.with_name(target.name + ".srkit-work")
    assert not target.exists() and sorted(p.name for p in (work / "done").iterdir()) == \
        ["00000.json", "00001.json"]
    assert said[0].startswith(f"work folder {work}: 40 frames, 6 shots, 6 chunks")

    said.clear()
    done = []
    result = upscale_video_job(clip, target, runner, JobOptions(**OPTIONS), progress=False,
                               say=said.append, on_chunk=done.append)
    assert said[0] == f"resuming out.mkv from {work}: 2 of 6 chunks done"
    assert done == [2, 3, 4, 5]                           # the two finished chunks were skipped
    assert _decoded(target) == one_pass                    # frames and audio bytes of one pass
    assert result.frames == 40 and result.shots == 6 and result.audio_packets == len(one_pass[1])
    assert not work.exists() and not temporary_files(target)


def test_changed_options_start_over(clip, model, tmp_path):
    target = tmp_path / "out.mkv"
    job = VideoJob(clip, target, JobOptions(**OPTIONS))
    assert job.prepare().startswith("work folder")
    job.process(0, ModelRunner.wrap(model, device="cpu"))
    assert VideoJob(clip, target, JobOptions(**OPTIONS)).prepare().startswith("resuming")
    changed = VideoJob(clip, target, JobOptions(**dict(OPTIONS, crf=20)))
    assert changed.prepare().startswith(f"starting over in {changed.work} (the input or the "
                                        "options changed)")
    assert changed.pending() == list(range(6))
    with pytest.raises(ValueError, match="its plan was made for another input or other options"):
        VideoJob(clip, target, JobOptions(**dict(OPTIONS, crf=30))).load()  # a cluster step
    with pytest.raises(ValueError, match=r"chunks 0-5 of 6 are not done"):
        changed.stitch()


def test_two_workers_with_a_chunk_failing_once(clip, one_pass, tmp_path):
    torch.manual_seed(0)
    model = FailingOncePipeline(tmp_path / "failed-once")  # the same weights as ``model``
    target = tmp_path / "out.mkv"
    said = []
    upscale_video_job(clip, target, ModelRunner.wrap(model, device="cpu"), JobOptions(**OPTIONS),
                      workers=2, progress=False, say=said.append)
    assert (tmp_path / "failed-once").exists()
    assert said[1] == "6 chunks done" and said[2].startswith("retried and finished: chunk ")
    assert _decoded(target) == one_pass


def test_a_chunk_failing_with_no_retry_left_is_reported_and_nothing_is_written(clip, tmp_path):
    torch.manual_seed(0)
    model = FailingOncePipeline(tmp_path / "flag")
    target = tmp_path / "out.mkv"
    said = []
    job_runner = ModelRunner.wrap(model, device="cpu")
    with pytest.raises(ChunksFailed, match=r"1 of 6 chunks failed \(chunk 0 failed after 1 tries: "
                                           r"RuntimeError: this chunk fails once\)"):
        upscale_video_job(clip, target, job_runner, JobOptions(**OPTIONS), retries=0,
                          progress=False, say=said.append)
    assert not target.exists() and said[1] == "5 chunks done"


def _loopback_namespace() -> str:
    """Why a network namespace with loopback only cannot be made here ("" when it can)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip is not installed"
    probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True,
                           text=True)
    return "" if probe.returncode == 0 else f"unshare -n fails: {probe.stderr.strip()}"


RAY_SCRIPT = """
import sys, torch
from srkit.inference.runner import ModelRunner
from srkit.inference.video.job import JobOptions
from srkit.inference.video.workers import upscale_video_job
model = torch.load(sys.argv[1], weights_only=False)
upscale_video_job(sys.argv[2], sys.argv[3], ModelRunner.wrap(model, device="cpu"),
                  JobOptions(**{options}), ray_address="local", progress=False)
"""


def _ray_with_a_failing_once_model(tmp_path):
    """Skip without Ray or a loopback-only namespace; else save the model whose first chunk fails once."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'srkit[cluster]')")
    why = _loopback_namespace()
    if why:
        pytest.skip(f"no loopback-only network namespace: {why}")
    torch.manual_seed(0)
    torch.save(FailingOncePipeline(tmp_path / "failed-once"), tmp_path / "model.pt")


def test_local_ray_cluster_on_loopback_with_a_chunk_failing_once(clip, one_pass, tmp_path):
    """Ray listens on every interface even when told 127.0.0.1, so the cluster runs in a network
    namespace that has only loopback."""
    _ray_with_a_failing_once_model(tmp_path)
    target = tmp_path / "out.mkv"
    script = RAY_SCRIPT.format(options=OPTIONS)
    tests = str(Path(__file__).parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(tests).parent), tests]),
               RAY_USAGE_STATS_ENABLED="0")
    run = subprocess.run(["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                          sys.executable, "-c", script, str(tmp_path / "model.pt"), str(clip),
                          str(target)], capture_output=True, text=True, env=env, timeout=600)
    if run.returncode and "The current node timed out during startup" in run.stderr:
        # Ray's node waits a fixed 25-38 s for its agent process: on an overloaded machine
        # (measured: load 13 on 2 cores) it gives up before any srkit code runs
        pytest.skip("the local Ray node did not start in Ray's own startup time (machine overloaded)")
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "failed-once").exists()                    # one task failed, Ray retried it
    assert _decoded(target) == one_pass


def test_cluster_steps_from_the_environment(clip, tmp_path, monkeypatch, capsys):
    """``--step plan``, one ``--step chunk`` per array task (SLURM_ARRAY_TASK_ID or
    JOB_COMPLETION_INDEX), ``--step stitch``: the recipes of docs/VIDEO.md."""
    from srkit.checkpoint import save_checkpoint
    from srkit.cli import main
    from srkit.models.sft import GeneratorConfig, SFTGenerator
    torch.manual_seed(0)
    generator = SFTGenerator(GeneratorConfig.preset("tiny", scale=2, use_kernel=False, use_seg=False))
    weights = tmp_path / "tiny_x2.safetensors"
    save_checkpoint(weights, {"generator": generator})
    target = tmp_path / "steps.mkv"
    common = [str(clip), "-o", str(target), "--weights", str(weights), "--codec", "ffv1",
              "--device", "cpu", "--quiet", "--chunk-frames", "8"]
    assert main(["upscale", *common, "--step", "plan"]) == 0
    assert "2 chunks: run --step chunk --chunk K for K in 0..1, then --step stitch" in \
        capsys.readouterr().err                      # whole shots: 0-12, then 13-39 (one shot)
    for index, variable in enumerate(["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"]):
        monkeypatch.setenv(variable, str(index))
        assert main(["upscale", *common, "--step", "chunk"]) == 0
        monkeypatch.delenv(variable)
    assert main(["upscale", *common, "--step", "stitch"]) == 0
    single = tmp_path / "single.mkv"
    common[2] = str(single)
    assert main(["upscale", *common]) == 0             # the whole job in one command
    assert _decoded(target) == _decoded(single) and len(_decoded(target)[0]) == 40


def test_probe_and_upscale_agree_on_scale_and_model_for_video(clip, tmp_path, monkeypatch, capsys):
    """Without --scale and --weights, ``srkit upscale`` loads the model ``srkit probe`` names, at
    the scale it plans (x2, x2_archive)."""
    import srkit.commands.upscaling.models as models
    from srkit.cli import main
    from srkit.commands.upscaling.messages import UsageError
    assert main(["probe", str(clip)]) == 0
    table = capsys.readouterr().out
    loaded = []

    def load(args, weights):
        loaded.append(weights)
        raise UsageError("stopped before the job")
    monkeypatch.setattr(models, "_runner", load)
    assert main(["upscale", str(clip), "-o", str(tmp_path / "out.mkv"), "--device", "cpu"]) == 2
    model = next(line.split()[1] for line in table.splitlines() if line.strip().startswith("model"))
    assert "what srkit upscale will do (x2, --codec h264, clip_x2.mp4)" in table
    assert loaded == [model] == ["x2_archive"]
    assert "srkit upscale: model x2_archive (default for video" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# The plan on disk: JSON with a versioned schema, checked when read; nothing is unpickled.


def test_the_plan_is_json_read_back_exactly_and_nothing_is_unpickled(clip, model, tmp_path):
    import json
    import pickle
    from srkit.inference.video.manifest import MANIFEST_FORMAT, MANIFEST_VERSION, read_manifest
    target = tmp_path / "out.mkv"
    job = VideoJob(clip, target, JobOptions(**OPTIONS))
    job.prepare()
    assert sorted(p.name for p in job.work.iterdir()) == ["chunks", "done", "manifest.json"]
    data = json.loads(job.manifest_path.read_text())
    assert (data["format"], data["version"]) == (MANIFEST_FORMAT, MANIFEST_VERSION) == ("srkit-video-job", 1)
    assert data["plan"]["rate"] == "25/1" and data["plan"]["time_base"] == "1/1000"  # Matroska
    fingerprint, plan, scan = read_manifest(job.manifest_path)
    assert plan == job.plan and scan == job.scan and fingerprint == job.fingerprint()
    assert [(c.start, c.stop) for c in scan.chunks] == [(0, 8), (8, 13), (13, 21), (21, 29), (29, 37), (37, 40)]

    # a pickle planted in the work folder (an old srkit wrote plan.pickle) is never opened
    class Planted:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "unpickled",))
    (job.work / "plan.pickle").write_bytes(pickle.dumps(Planted()))
    resumed = VideoJob(clip, target, JobOptions(**OPTIONS))
    assert resumed.prepare().startswith("resuming out.mkv")
    resumed.process(0, ModelRunner.wrap(model, device="cpu"))
    assert not (tmp_path / "unpickled").exists()


@pytest.mark.parametrize("content,why", [
    (b"\x80\x04\x95 a pickle", "not UTF-8 text"),
    (b"{\"fingerprint\": ", "not JSON (Expecting value: line 1 column 17 (char 16))"),
    (b"[1, 2]", "not a srkit video job manifest"),
    (b"{\"fingerprint\": \"0\", \"scan\": {}}", "written by an older srkit (no format version)"),
    (None, "schema version 2, this srkit reads version 1"),
    (None, "invalid: plan.rate is not a fraction written \"NUM/DEN\""),
    (None, "invalid: scan: unknown extra"),
    (None, "invalid: the chunks cover 37 of 40 pictures"),
])
def test_a_foreign_old_or_damaged_plan_is_refused_naming_the_file(content, why, clip, tmp_path, capsys):
    """Resume and every cluster step refuse it in one line; the folder stays for a look, and
    ``--fresh`` starts over."""
    import json
    from srkit.inference.video.manifest import ManifestError
    target = tmp_path / "out.mkv"
    job = VideoJob(clip, target, JobOptions(**OPTIONS))
    job.prepare()
    if content is None:
        data = json.loads(job.manifest_path.read_text())
        if "version" in why:
            data["version"] = 2
        elif "rate" in why:
            data["plan"]["rate"] = 25.0
        elif "extra" in why:
            data["scan"]["extra"] = 1
        else:
            data["scan"]["chunks"].pop()
        content = json.dumps(data).encode()
    job.manifest_path.write_bytes(content)
    message = f"{job.manifest_path}: {why}; this srkit cannot resume from it (--fresh starts over)"
    for step in (lambda j: j.prepare(), lambda j: j.load()):
        with pytest.raises(ManifestError) as caught:
            step(VideoJob(clip, target, JobOptions(**OPTIONS)))
        assert str(caught.value) == message
    assert job.manifest_path.read_bytes() == content  # refused, not removed
    from srkit.cli import main
    assert main(["upscale", str(clip), "-o", str(target), "--weights", "x2", "--codec", "ffv1",
                 "--device", "cpu", "--quiet", "--chunk-frames", "8"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"srkit upscale: error: {message}"
    fresh = VideoJob(clip, target, JobOptions(**OPTIONS))
    assert fresh.prepare(fresh=True).startswith(f"starting over in {fresh.work} (--fresh)")


# --------------------------------------------------------------------------------------------
# Many files in one job: a folder or a list file; one task per chunk across all files.


def _batch_folder(tmp_path, clip):
    """a.mkv (the module's clip), b.mkv (another clip), broken.mkv (not a video at all)."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(clip, folder / "a.mkv")
    make_video(folder / "b.mkv", frames=12, width=40, height=30, fps=25, audio=None)
    (folder / "broken.mkv").write_bytes(b"\x1a\x45\xdf\xa3 not a matroska file" * 10)
    return folder


def _check_batch_report(out, reports, one_pass):
    import json
    data = json.loads((out / "srkit-report.json").read_text())
    assert (data["format"], data["finished"], data["skipped"], data["failed"]) == ("srkit-video-report", 2, 0, 1)
    by_name = {Path(r["source"]).name: r for r in data["inputs"]}
    assert [r.status for r in reports] == ["done", "done", "failed"]  # sorted: a, b, broken
    assert by_name["a.mkv"]["status"] == "done" and by_name["a.mkv"]["frames"] == 40
    assert by_name["a.mkv"]["chunks"] == 6 and by_name["b.mkv"]["frames"] == 12
    broken = by_name["broken.mkv"]
    assert broken["status"] == "failed" and broken["error"].startswith("plan: ValueError: cannot read video")
    assert str(out / "broken.mkv") in broken["target"] and not (out / "broken.mkv").exists()
    assert _decoded(out / "a.mkv") == one_pass
    return by_name


def test_a_folder_of_videos_in_two_workers_goes_on_past_a_broken_file(clip, one_pass, tmp_path):
    from srkit.inference.video.batch import list_inputs, run_batch
    torch.manual_seed(0)
    runner = ModelRunner.wrap(FailingOncePipeline(tmp_path / "failed-once"), device="cpu")
    folder, out = _batch_folder(tmp_path, clip), tmp_path / "out"
    sources = list_inputs(folder)
    said = []
    reports = run_batch(sources, out, [out / s.name for s in sources], runner, JobOptions(**OPTIONS),
                        workers=2, retries=1, say=said.append)
    by_name = _check_batch_report(out, reports, one_pass)
    assert sum(len(r["tries"]) for r in by_name.values()) == 1  # the chunk that failed once, retried
    assert any(line.startswith("broken.mkv: failed (plan: ValueError") for line in said)
    assert sorted(p.name for p in out.iterdir()) == ["a.mkv", "b.mkv", "srkit-report.json"]


def test_a_list_file_from_the_command_line_reports_and_exits_1(clip, tmp_path, capsys):
    from srkit.checkpoint import save_checkpoint
    from srkit.cli import main
    from srkit.models.sft import GeneratorConfig, SFTGenerator
    torch.manual_seed(0)
    weights = save_checkpoint(tmp_path / "tiny_x2.safetensors", {"generator": SFTGenerator(
        GeneratorConfig.preset("tiny", scale=2, use_kernel=False, use_seg=False))})
    folder = _batch_folder(tmp_path, clip)
    listing = tmp_path / "inputs.txt"
    listing.write_text("# the inputs\nin/b.mkv\n\nin/broken.mkv\n")
    out = tmp_path / "out"
    assert main(["upscale", str(listing), "-o", str(out), "--weights", str(weights), "--codec", "ffv1",
                 "--device", "cpu", "--quiet", "--workers", "1"]) == 1
    stdout = capsys.readouterr().out.splitlines()
    assert stdout[0] == f"1 of 2 videos done, 1 failed (report: {out / 'srkit-report.json'})"
    assert stdout[1].startswith(f"failed: {folder / 'broken.mkv'}: plan: ValueError: cannot read video")
    assert sorted(p.name for p in out.iterdir()) == ["b.mkv", "srkit-report.json"]
    # the same command again: the finished file is skipped, the broken one fails again
    assert main(["upscale", str(listing), "-o", str(out), "--weights", str(weights), "--codec", "ffv1",
                 "--device", "cpu", "--quiet", "--workers", "1"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        "0 of 2 videos done, 1 skipped (output there already; --overwrite redoes it), 1 failed "
        f"(report: {out / 'srkit-report.json'})")
    assert main(["upscale", str(listing), "-o", str(out), "--weights", str(weights), "--codec", "ffv1",
                 "--device", "cpu", "--quiet", "--step", "plan"]) == 2
    assert "--step runs one step of one video" in capsys.readouterr().err
    assert main(["upscale", str(listing), "-o", str(out), "--phase", "corner", "--device", "cpu"]) == 2
    assert "--phase corner is for images and folders of frames" in capsys.readouterr().err


RAY_BATCH_SCRIPT = """
import sys, torch
from pathlib import Path
from srkit.inference.runner import ModelRunner
from srkit.inference.video.batch import list_inputs, run_batch
from srkit.inference.video.job import JobOptions
model = torch.load(sys.argv[1], weights_only=False)
sources, out = list_inputs(Path(sys.argv[2])), Path(sys.argv[3])
reports = run_batch(sources, out, [out / s.name for s in sources], ModelRunner.wrap(model, device="cpu"),
                    JobOptions(**{options}), ray_address="local", retries=1, say=print)
sys.exit(0 if [r.status for r in reports] == ["done", "done", "failed"] else 3)
"""


def test_a_folder_of_videos_on_a_local_ray_cluster_on_loopback(clip, one_pass, tmp_path):
    _ray_with_a_failing_once_model(tmp_path)
    folder, out = _batch_folder(tmp_path, clip), tmp_path / "out"
    tests = str(Path(__file__).parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(tests).parent), tests]),
               RAY_USAGE_STATS_ENABLED="0")
    run = subprocess.run(["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                          sys.executable, "-c", RAY_BATCH_SCRIPT.format(options=OPTIONS),
                          str(tmp_path / "model.pt"), str(folder), str(out)],
                         capture_output=True, text=True, env=env, timeout=600)
    if run.returncode and "The current node timed out during startup" in run.stderr:
        pytest.skip("the local Ray node did not start in Ray's own startup time (machine overloaded)")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    from srkit.inference.video.batch import FileReport
    import json
    reports = [FileReport(**r) for r in json.loads((out / "srkit-report.json").read_text())["inputs"]]
    by_name = _check_batch_report(out, reports, one_pass)
    assert (tmp_path / "failed-once").exists()
    assert sum(len(r["tries"]) for r in by_name.values()) == 1
