"""``srkit train seg|sftmd|ikc|sftgan --preset smoke|cpu|gpu [...]``: run one training stage.

Runs as is under ``torchrun --nproc_per_node N -m srkit.cli train ...`` (DDP, one process per GPU;
gloo on the CPU).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stage", choices=("seg", "sftmd", "ikc", "sftgan"), help="what to train")
    parser.add_argument("--preset", default="smoke", choices=("smoke", "cpu", "gpu"),
                        help="sizes and schedule (smoke: CPU check in < 2 min; cpu: the bundled CPU model "
                             "size; gpu: the paper's sizes). SRKIT_SMOKE=1 forces smoke.")
    parser.add_argument("--config", type=Path, help="JSON file of config fields overriding the preset")
    parser.add_argument("--out", help="run folder (default: runs/<preset>-<stage>)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/resume.safetensors")
    parser.add_argument("--data", help="training images: folder, data root with T91/BSD200, 'skimage', "
                        "a .npz pack or hf:NAME (default: $SRKIT_DATA/T91+BSD200, else scikit-image's)")
    parser.add_argument("--scale", type=int, choices=(2, 3, 4))
    parser.add_argument("--init-from", dest="init_from", help="srkit checkpoint to start from")
    parser.add_argument("--steps", type=int, help="total iterations")
    parser.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar (logs only)")


def run(args) -> int:
    from srkit.train import dist, get_trainer
    cfg_cls, trainer_cls = get_trainer(args.stage)
    overrides = {}
    if args.config:
        if not args.config.is_file():
            raise FileNotFoundError(f"config file not found: {args.config}")
        overrides = json.loads(args.config.read_text())
        if not isinstance(overrides, dict):
            raise ValueError(f"{args.config}: expected a JSON object of config fields")
    for k in ("out", "data", "scale", "init_from", "steps", "device"):
        if getattr(args, k) is not None:
            overrides[k] = getattr(args, k)
    if args.no_progress:
        overrides["progress"] = False
    cfg = cfg_cls.from_preset(args.preset, **overrides)
    trainer = trainer_cls(cfg, resume=args.resume)
    from srkit.train.loop import NonFiniteLossError
    try:
        last = trainer.fit()
    except NonFiniteLossError as e:
        print(f"srkit train {args.stage}: error: {e}")
        return 3
    finally:
        dist.cleanup()
    if dist.is_main():
        print(f"srkit train {args.stage}: step {last.get('step')}, "
              + ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k.startswith("val_") and isinstance(v, float))
              + f"\nmodel: {Path(cfg.out) / 'model.safetensors'} (srkit.load), resume: "
              f"{Path(cfg.out) / 'resume.safetensors'}, log: {Path(cfg.out) / 'log.csv'}")
    return 0
