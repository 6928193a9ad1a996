"""Atomic writes: a file appears under its name only once complete (:func:`atomic_path`), through
a temporary name chosen in one place (:func:`temporary_name`), and the leftovers of a process
killed while writing (:func:`leftover_parts`)."""
from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

TEMPORARY_TOKEN_BYTES = 4   # atomic_path's random part: 4 bytes, 8 hex characters


def temporary_name(path: str | Path, token: str) -> Path:
    """The temporary file :func:`atomic_path` writes first: ``.NAME.<token>.part.EXT`` beside
    ``path`` (NAME its whole name, EXT its extension: hidden from listings, and writers that choose
    a format by extension see the same one). ``token="*"`` gives the glob pattern."""
    path = Path(path)
    return path.parent / f".{path.name}.{token}.part{path.suffix}"


def temporary_files(path: str | Path) -> list[Path]:
    """Temporary files of ``path`` that :func:`atomic_path` left (none after any finished or
    interrupted run)."""
    pattern = temporary_name(path, "*")
    return sorted(pattern.parent.glob(pattern.name))


def temporary_name_extra(path: str | Path) -> int:
    """How many bytes longer than ``path``'s file name its temporary name is (it must fit NAME_MAX too)."""
    path = Path(path)
    longest = temporary_name(path, "0" * (2 * TEMPORARY_TOKEN_BYTES))
    return len(os.fsencode(longest.name)) - len(os.fsencode(path.name))


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; it replaces ``path`` only if the block succeeds.

    A crash, a full disk or an exception leaves the previous file (if any) untouched and no
    temporary file behind. A process killed outright (SIGKILL, power loss) cannot remove its
    temporary file; it holds an advisory lock on it while writing, so :func:`leftover_parts`
    tells such a leftover from a file another process is still writing.
    """
    import secrets
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, fd = None, None
    # The name is chosen, and remembered for the cleanup below, before the file exists: a Ctrl-C,
    # SIGTERM or SIGHUP landing the moment the file is created still has it removed. (Blocking the
    # signals around tempfile.mkstemp does not: another thread of the process, e.g. one of torch's,
    # takes the signal instead and the main thread raises before mkstemp's name is stored.)
    try:
        for _ in range(100):
            candidate = temporary_name(path, secrets.token_hex(TEMPORARY_TOKEN_BYTES))
            if candidate.exists():
                continue  # someone else's: never ours to remove
            tmp = candidate
            try:
                # O_EXCL: never someone else's file; 0o666 less the umask: the usual permissions
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                _lock(fd)  # held until the block ends: the file is in use, not left over
                break
            except FileExistsError:
                tmp = None
                continue
        else:
            raise FileExistsError(f"no free temporary name beside {path}")
        yield tmp
        os.replace(tmp, path)
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None and tmp.exists():
            tmp.unlink()


def _lock(fd: int, wait: bool = True) -> bool:
    """An exclusive advisory lock (flock) on ``fd``; False when another process holds one and
    ``wait`` is False. Where flock does not exist (Windows) every lock is granted."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False
    except OSError:  # a file system without flock: nothing to tell
        return True


# A leftover younger than this may be one another process has just created and not yet locked.
_LEFTOVER_AGE_S = 2.0


def leftover_parts(path: str | Path) -> list[Path]:
    """The temporary files :func:`atomic_path` left beside ``path`` when a process writing it was
    killed outright (SIGKILL, power loss): ``.NAME.XXXXXXXX.part.EXT`` files that no process holds
    locked. Files another process is writing right now are not listed."""
    import time
    path = Path(path)
    pattern = re.compile(re.escape(f".{path.name}.") + r"[0-9a-f]{8}" + re.escape(f".part{path.suffix}"))
    try:
        candidates = [p for p in path.parent.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return []
    found = []
    for candidate in sorted(candidates):
        try:
            if time.time() - candidate.stat().st_mtime < _LEFTOVER_AGE_S or not candidate.is_file():
                continue
            fd = os.open(candidate, os.O_RDONLY)
        except OSError:
            continue
        try:
            if _lock(fd, wait=False):
                found.append(candidate)
        finally:
            os.close(fd)
    return found
