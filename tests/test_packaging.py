"""What a wheel carries and what it needs: every bundled file the defaults read is in the package
data, no default path guesses at a checkout layout, and every package srkit imports is declared."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# import name → distribution name, where they differ
DISTRIBUTION = {"PIL": "pillow", "skimage": "scikit-image", "av": "av", "pywt": "PyWavelets",
                "IPython": "ipython", "yaml": "PyYAML"}


def _declared(extras: bool) -> set[str]:
    reqs = list(PYPROJECT["project"]["dependencies"])
    if extras:
        reqs += [r for rs in PYPROJECT["project"]["optional-dependencies"].values() for r in rs]
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in reqs}


def _imports(folder: Path) -> dict[str, set[str]]:
    """top-level third-party module → files importing it (anywhere in the file)."""
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            for name in names:
                top = name.split(".")[0]
                if top != "srkit" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


# Imported (optionally) but installed apart with --no-deps, because their wheels pin an old torch or
# a GUI OpenCV srkit never uses: pyproject.toml says so beside the [pretrained] extra, and
# .ci/test-command installs them.
INSTALLED_APART = {"facenet-pytorch", "rapidocr-onnxruntime"}


def test_every_imported_package_is_declared():
    declared = _declared(extras=True) | INSTALLED_APART
    missing = {m: sorted(f) for m, f in _imports(ROOT / "srkit").items()
               if DISTRIBUTION.get(m, m).lower().replace("_", "-") not in declared}
    assert not missing, f"imported but not in pyproject.toml: {missing}"


def test_plain_dependencies_are_imported():
    """Nothing in the plain install goes unused (PyWavelets and jupyterlab: used without an import)."""
    used = {DISTRIBUTION.get(m, m).lower().replace("_", "-") for m in _imports(ROOT / "srkit")}
    unused = _declared(extras=False) - used - {"pywavelets", "jupyterlab"}
    assert not unused, f"declared but never imported by srkit: {sorted(unused)}"


def test_package_data_covers_every_bundled_file():
    """srkit/assets links to the top-level assets/; the wheel's globs take every bundle, card and
    the archive-clip source, so an installed package has what the defaults read."""
    link = ROOT / "srkit" / "assets"
    assert link.is_symlink() and link.resolve() == (ROOT / "assets").resolve()
    globs = PYPROJECT["tool"]["setuptools"]["package-data"]["srkit"]
    packaged = {p.resolve() for g in globs for p in (ROOT / "srkit").glob(g)}
    needed = [*(ROOT / "assets" / "weights").rglob("*.safetensors"), *(ROOT / "assets" / "weights").rglob("*.md"),
              ROOT / "assets" / "archive_clip_source.png"]
    assert needed and all(p.resolve() in packaged for p in needed), \
        sorted(str(p.relative_to(ROOT)) for p in needed if p.resolve() not in packaged)


def test_no_default_path_guesses_at_a_checkout():
    """Library code finds its files through srkit.paths; none climbs out of the package."""
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in (ROOT / "srkit").rglob("*.py")
            if "notebook" not in p.parts
            for i, line in enumerate(p.read_text().splitlines(), 1)
            if re.search(r"parents\[\d\]|parent\.parent|shared/data", line)]
    assert not hits, hits


def test_the_paths_resolve_inside_the_package():
    from srkit import paths
    assert paths.ASSETS_DIR.parent == Path(paths.__file__).parent
    assert (paths.WEIGHTS_DIR / "x2.safetensors").is_file() and paths.ARCHIVE_CLIP_SOURCE.is_file()
