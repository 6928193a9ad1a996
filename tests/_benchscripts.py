"""Loading a bench/ script as a module, on crops of the benchmark images (quick CPU runs)."""
import importlib.util
from pathlib import Path

import srkit.data.benchmarks as benchmarks

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_script(name: str, monkeypatch):
    """bench/<name>.py as a module, with bench/ on sys.path as when it is run as a script."""
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def crop_benchmarks(monkeypatch, images: int, size: int = 96) -> None:
    """Make load_benchmark return the first ``images`` images of a set, cropped to size×size."""
    real = benchmarks.load_benchmark

    def cropped(data, name, scale):
        ims = real(data, name, scale)[:images]
        for im in ims:
            im.hr = im.hr[:size, :size]
        return ims

    monkeypatch.setattr(benchmarks, "load_benchmark", cropped)
