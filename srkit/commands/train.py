"""``srkit train seg|sftmd|ikc|sftgan|video --preset smoke|cpu|gpu [...]``: run one training stage;
``srkit train recipe recipes/x2.toml``: run every stage of a recipe and bundle the result
(``srkit.train.recipe``).

Runs as is under ``torchrun --nproc_per_node N -m srkit.cli train ...`` (DDP, one process per GPU;
gloo on the CPU).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stage", choices=("seg", "sftmd", "ikc", "sftgan", "video", "recipe"),
                        help="what to train; 'recipe FILE' runs a whole recipe (recipes/*.toml)")
    parser.add_argument("recipe_file", nargs="?", type=Path, help="with 'recipe': the recipe's TOML file")
    parser.add_argument("--bundle-to", dest="bundle_to", type=Path,
                        help="with 'recipe': where the bundles go (default OUT/bundles; assets/weights replaces "
                             "the shipped ones)")
    parser.add_argument("--smoke", action="store_true", help="with 'recipe': every stage at smoke size (also SRKIT_SMOKE=1)")
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
    parser.add_argument("--precision", choices=("fp32", "bf16", "auto"),
                        help="network passes in fp32 (default) or bf16 autocast + channels-last; auto: bf16 on "
                             "AMX/AVX-512 BF16 CPUs and bf16 GPUs (srkit.precision)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar (logs only)")


def run(args) -> int:
    if args.stage == "recipe":
        return _run_recipe(args)
    if args.recipe_file is not None:
        raise ValueError(f"a file argument ({args.recipe_file}) goes with 'srkit train recipe' only")
    from srkit.train import dist, get_trainer
    cfg_cls, trainer_cls = get_trainer(args.stage)
    overrides = {}
    if args.config:
        if not args.config.is_file():
            raise FileNotFoundError(f"config file not found: {args.config}")
        overrides = json.loads(args.config.read_text())
        if not isinstance(overrides, dict):
            raise ValueError(f"{args.config}: expected a JSON object of config fields")
    for k in ("out", "data", "scale", "init_from", "steps", "device", "precision"):
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


def _run_recipe(args) -> int:
    from srkit.train.recipe import load_recipe, run_recipe
    if args.recipe_file is None:
        raise ValueError("srkit train recipe needs the recipe file, e.g. srkit train recipe recipes/x2.toml")
    for opt in ("config", "init_from", "steps", "scale", "precision"):
        if getattr(args, opt) is not None:
            raise ValueError(f"--{opt.replace('_', '-')} does not go with a recipe: the recipe file sets it per stage")
    recipe = load_recipe(args.recipe_file)
    written = run_recipe(recipe, out=args.out, bundle_to=args.bundle_to, smoke=args.smoke, device=args.device,
                         data=args.data, progress=not args.no_progress)
    print(f"srkit train recipe: {len(written)} bundle(s): " + ", ".join(str(p) for p in written.values()))
    return 0
