"""The ``srkit`` console script. Each subcommand lives in ``srkit/commands/<name>.py`` with
``add_arguments(parser)`` and ``run(args) -> int``; modules are imported only when their command
runs, so a missing optional dependency breaks only its own command.

While a command runs, SIGTERM and SIGHUP raise ``Terminated`` (a KeyboardInterrupt) like Ctrl-C
does, so temporary files are removed by the ``finally`` blocks that own them; the process then exits
with 128 + the signal number (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP) after one line on stderr. Each
signal is also recorded (``srkit.interrupt``), so that one whose exception Python had to drop (raised
inside a finaliser or a C callback) still stops the command at its next safe point."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
import time

import srkit.interrupt
from srkit.interrupt import Terminated  # noqa: F401 - part of this module's interface

# command → (module, help). ``bench`` has its own sub-subcommands.
COMMANDS = {
    "demo": ("srkit.commands.demo", "upscale the bundled sample images with the bundled weights"),
    "bench": ("srkit.commands.bench", "benchmarks: bicubic, gaussian8, table1, degraded, video, segmentation, ablation, categories"),
    "upscale": ("srkit.commands.upscale", "upscale an image, a folder of images or a video"),
    "probe": ("srkit.commands.probe", "what srkit sees in a video and what upscale will do with it"),
    "train": ("srkit.commands.train", "train seg | sftmd | ikc | sftgan, or a whole recipe"),
    "data": ("srkit.commands.data", "fetch the benchmark images (Set5, Set14, B100, Urban100)"),
    "export": ("srkit.commands.export", "export a model's networks: onnx (ONNX Runtime, TensorRT, vs-mlrt)"),
}

# After a first SIGTERM/SIGHUP, repeats are ignored this long, so the cleanup it started can finish.
CLEANUP_GRACE_S = 5.0


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="srkit", description="blind, semantics-aware super-resolution")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:  # import only the module that will run
            importlib.import_module(module).add_arguments(p)
    return parser


@contextlib.contextmanager
def signals_as_exceptions():
    """While a command runs, SIGINT raises KeyboardInterrupt and SIGTERM and SIGHUP raise
    ``Terminated`` (the default would kill the process on the spot, leaving its temporary files);
    each is recorded in ``srkit.interrupt`` too, for ``srkit.interrupt.check``. Installed here, by
    the CLI, never on import of the library: a program embedding srkit keeps its own handlers.

    A signal the caller set to be ignored (``nohup`` ignores SIGHUP) stays ignored. Only the first
    signal raises. Repeats within ``CLEANUP_GRACE_S`` are dropped so that the cleanup completes (a
    closed terminal can deliver SIGHUP twice: the kernel's and the shell's); a later one has the
    default effect, ending the process at once, in case the first was swallowed somewhere. The
    previous handlers come back afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal.signal works in the main thread only; the caller's handlers stay
        return
    first: list[float] = []

    def raise_interrupt(signum, frame):
        if not first:
            first.append(time.monotonic())
            srkit.interrupt.record(signum)
            raise srkit.interrupt.exception(signum)
        if time.monotonic() - first[0] > CLEANUP_GRACE_S:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    previous = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)  # Windows has no SIGHUP
        if signum is None:
            continue
        current = signal.getsignal(signum)
        if current == signal.SIG_IGN:
            continue
        previous[signum] = signal.SIG_DFL if current is None else current  # None: set outside Python
        signal.signal(signum, raise_interrupt)
    srkit.interrupt.reset()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        srkit.interrupt.reset()


def interrupted_exit_code(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal number, the shell's convention: 130 for Ctrl-C, 143 SIGTERM, 129 SIGHUP."""
    return 128 + getattr(interrupt, "signum", signal.SIGINT)


def main(argv: list[str] | None = None) -> int:
    """Run one ``srkit`` command; returns its exit code (2: usage error, 128+N: signal N)."""
    argv = sys.argv[1:] if argv is None else argv
    command = "srkit"
    try:
        with signals_as_exceptions():
            parser = build_parser(argv)
            args = parser.parse_args(argv)
            if args.command is None:
                parser.print_help()
                return 2
            command = f"srkit {args.command}"
            module = importlib.import_module(COMMANDS[args.command][0])
            try:
                code = int(module.run(args) or 0)
                srkit.interrupt.check()  # a signal whose exception was dropped after the last check
                return code
            except (FileNotFoundError, ValueError, OSError) as e:
                print(f"{command}: error: {e}", file=sys.stderr)
                return 2
    except KeyboardInterrupt as interrupt:  # commands that do not report interruptions themselves
        signum = getattr(interrupt, "signum", signal.SIGINT)
        how = "interrupted" if signum == signal.SIGINT else f"interrupted by {signal.Signals(signum).name}"
        print(f"{command}: {how}", file=sys.stderr)
        return interrupted_exit_code(interrupt)


if __name__ == "__main__":
    sys.exit(main())
