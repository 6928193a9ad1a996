"""Where srkit finds its own files and the user's data: one lookup each, no guessing at a layout.

``ASSETS_DIR`` is ``srkit/assets`` inside the package. In the repository that is a link to the
top-level ``assets/`` folder; a wheel carries the files themselves (pyproject.toml's package data),
so a source checkout, an editable install and ``pip install srkit-*.whl`` read the same path.
"""
from __future__ import annotations

import os
from pathlib import Path

ASSETS_DIR = Path(__file__).parent / "assets"
WEIGHTS_DIR = ASSETS_DIR / "weights"              # bundled models: <name>.safetensors + card <name>.md
ABLATION_DIR = WEIGHTS_DIR / "ablation"           # the ×2 ablation set (srkit bench ablation)
ARCHIVE_CLIP_SOURCE = ASSETS_DIR / "archive_clip_source.png"   # srkit.data.archive_clip's default picture


def default_data_dir() -> Path | None:
    """The data folder named by ``$SRKIT_DATA`` (benchmark sets, training images), or None when unset.

    Never guessed from where the package sits: an installed package has no sibling data folder.
    """
    env = os.environ.get("SRKIT_DATA")
    return Path(env) if env else None
