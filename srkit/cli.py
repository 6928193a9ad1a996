"""The ``srkit`` console script. Each subcommand lives in ``srkit/commands/<name>.py`` with
``add_arguments(parser)`` and ``run(args) -> int``; modules are imported only when their command
runs, so a missing optional dependency breaks only its own command."""
from __future__ import annotations

import argparse
import importlib
import sys

# command → (module, help). ``bench`` has its own sub-subcommands.
COMMANDS = {
    "demo": ("srkit.commands.demo", "upscale the bundled sample images with the bundled weights"),
    "bench": ("srkit.commands.bench", "benchmarks: bicubic, gaussian8, categories"),
    "upscale": ("srkit.commands.upscale", "upscale an image, a folder of images or a video"),
    "train": ("srkit.commands.train", "train seg | sftmd | ikc | sftgan"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="srkit", description="blind, semantics-aware super-resolution")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:  # import only the module that will run
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except (FileNotFoundError, ValueError, OSError) as e:
        print(f"srkit {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
