import os
from pathlib import Path

import pytest

os.environ.setdefault("SRKIT_SMOKE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
# The library reads data only from $SRKIT_DATA (srkit.paths.default_data_dir). The test run, and the
# notebooks nbval starts from it, use the data folder beside the checkout when one is there.
if not os.environ.get("SRKIT_DATA") and (REPO.parent / "shared" / "data").is_dir():
    os.environ["SRKIT_DATA"] = str(REPO.parent / "shared" / "data")


def shared_data_dir() -> Path | None:
    env = os.environ.get("SRKIT_DATA")
    return Path(env) if env and Path(env).is_dir() else None


@pytest.fixture
def data_dir() -> Path:
    d = shared_data_dir()
    if d is None:
        pytest.skip("benchmark data not found: set SRKIT_DATA to a folder holding Set5/HR, Set14/HR, ...")
    return d
