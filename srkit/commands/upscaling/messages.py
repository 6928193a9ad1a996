"""What ``srkit upscale`` tells its user: one ``srkit upscale: ...`` line on stderr for each
message, error and warning (through tqdm while a progress bar shows), the exit codes, the errors
printed without a traceback, and the one line of an interruption (:class:`Job`)."""
from __future__ import annotations

import contextlib
import errno
import re
import signal
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem the user can fix; printed without a traceback, exit code 2."""


class BatchStopped(Exception):
    """A folder batch that cannot go on (a full disk); printed without a traceback, exit code 1."""


@dataclass
class Job:
    """What the command is doing, for the one-line message of an interruption."""
    source: Path
    target: Path
    kind: str = "?"             # image | folder | video
    existed: bool = False       # single file: the output existed before (it is left as it was)
    done: int = 0               # folder: images finished in this run
    total: int = 0              # folder: images to do in this run
    work: Path | None = None    # video: the job's work folder (finished chunks stay there)

    def interrupted(self, interrupt: KeyboardInterrupt) -> int:
        import srkit.interrupt
        srkit.interrupt.reset()  # reported here: the CLI's last check must not raise it again
        signum = getattr(interrupt, "signum", signal.SIGINT)  # SIGTERM/SIGHUP: srkit.cli.Terminated
        how = "interrupted" if signum == signal.SIGINT else f"interrupted by {signal.Signals(signum).name}"
        if self.kind == "videos":
            message = (f"{how}; the finished videos stay in {self.target} and the finished chunks "
                       "in their work folders: run the same command to resume")
            say(message)
            return 128 + signum
        if self.kind == "folder":
            message = (f"{how} after {self.done} of {self.total} images; the finished ones stay in "
                       f"{self.target} and no partial file was left; run the same command to resume")
        elif self.existed:
            message = f"{how}; {self.target} was left as it was"
        else:
            message = f"{how}; nothing was left under {self.target}"
        if self.work is not None and self.work.exists():
            message += (f"; the finished chunks stay in {self.work}: run the same command to "
                        "resume (--fresh starts over)")
        say(message)
        return 128 + signum


def say(message: str) -> None:
    _write_line(f"srkit upscale: {message}")


def _write_line(line: str) -> None:
    """One line on stderr; through tqdm when a progress bar is showing, so the bar stays intact."""
    try:
        from tqdm import tqdm
    except ImportError:
        print(line, file=sys.stderr, flush=True)
    else:
        tqdm.write(line, file=sys.stderr)
        sys.stderr.flush()


def fail(message: str, code: int = EXIT_USAGE) -> int:
    say(f"error: {message}")
    return code


def is_partial_video(error: Exception) -> bool:
    """A truncated video (``srkit.inference.video.PartialVideoError``; the module is loaded only for videos)."""
    video = sys.modules.get("srkit.inference.video")
    return video is not None and isinstance(error, video.PartialVideoError)


def describe_os_error(error: OSError, output) -> str:
    """Readable message for write failures; a full disk is named as such."""
    where = error.filename or output
    if error.errno == errno.ENOSPC:
        return f"disk full while writing {where}; nothing was left under the output name"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {where}: {error.strerror or error}"
    if error.errno == errno.ENAMETOOLONG:
        return f"file name too long: {where}"
    return f"{where}: {error}"


@contextlib.contextmanager
def one_line_warnings(prog: str = "srkit upscale"):
    """While the command runs, print each warning as one ``PROG: warning: MESSAGE`` line.

    The default format (file:line: Category: message + source line) is for developers; the
    library's messages already name the image, and a progress bar must not be broken by it.
    The previous ``warnings.showwarning`` comes back afterwards.
    """
    def show(message, category, filename, lineno, file=None, line=None):
        text = re.sub(r"\s*[\r\n]+\s*", " ", str(message)).strip()
        if not issubclass(category, UserWarning):  # srkit's own warnings (GuardWarning too) read as they are
            text = f"{category.__name__}: {text}"
        _write_line(f"{prog}: warning: {text}")

    previous = warnings.showwarning  # only this is swapped: the filters stay the caller's
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous
