"""``srkit data fetch --to DIR [--sets Set5,Set14,B100,Urban100]``: the benchmark images for
``--data`` (``srkit.data.fetch``; needs a connection to the HuggingFace Hub)."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    p = sub.add_parser("fetch", help="download Set5, Set14, B100 and Urban100 into the layout --data expects",
                       description="Download the benchmark HR images from the HuggingFace Hub into DIR/<set>/HR.")
    p.add_argument("--to", type=Path, required=True, help="the data folder to fill (then use --data DIR)")
    p.add_argument("--sets", default="Set5,Set14,B100,Urban100", help="comma-separated (default: all four)")


def run(args) -> int:
    from srkit.data.fetch import FetchError, fetch
    sets = [s for s in args.sets.split(",") if s]
    try:
        fetch(args.to, sets)
    except FetchError as e:
        print(f"srkit data fetch: error: {e}")
        return 1
    print(f"done: use --data {args.to} (or export SRKIT_DATA={args.to})")
    return 0
