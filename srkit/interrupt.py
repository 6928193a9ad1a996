"""A signal that must not be lost: the record kept by the ``srkit`` command's handlers.

Python turns SIGINT (and, in the ``srkit`` command, SIGTERM and SIGHUP) into an exception raised at
the next bytecode the main thread runs. That bytecode may belong to code that cannot pass an
exception on: a ``__del__`` method, a weakref callback, a generator being finalised, a callback
called from C (PyAV's, torch's). Python then prints "Exception ignored in ..." and goes on, and a
job interrupted at that moment would run to its end. So the handler also records the signal here,
and long loops call ``check()`` at the points where stopping is safe (each frame, each chunk, before
a retry, before the stitch): a recorded signal is raised again there.

Nothing is recorded unless the ``srkit`` command installed its handlers (``srkit.cli``): a program
embedding srkit keeps Python's own behaviour, and ``check()`` costs one list lookup.
"""
from __future__ import annotations

import signal

_received: list[int] = []  # signal numbers received while the srkit command's handlers are in


def record(signum: int) -> None:
    """Called by the command's signal handler before it raises."""
    if not _received:
        _received.append(signum)


def received() -> int | None:
    """The first signal recorded since ``reset``, else None."""
    return _received[0] if _received else None


def reset() -> None:
    _received.clear()


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread so that every ``finally`` runs (temporary
    output files are removed there). A KeyboardInterrupt: code that already cleans up after Ctrl-C
    does so for these too, and ``except Exception`` does not swallow them."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    def __str__(self) -> str:
        return signal.Signals(self.signum).name


def exception(signum: int) -> KeyboardInterrupt:
    """The exception a signal raises: KeyboardInterrupt for SIGINT (Ctrl-C), ``Terminated`` for
    the others."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


def check() -> None:
    """Raise the recorded signal's interrupt again (a no-op when none was recorded)."""
    if _received:
        raise exception(_received[0])
