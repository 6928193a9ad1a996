"""The documentation a newcomer meets: the README's test line is the one CI runs, every relative
link resolves, every docs/DESIGN.md § reference names a section that exists, and nothing reads as a
work log."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "bench").glob("*.md")), *sorted((ROOT / "assets").rglob("*.md"))]
SOURCE_FILES = [p for d in ("srkit", "tests", "bench", "notebooks") for p in (ROOT / d).rglob("*")
                if p.suffix in (".py", ".ipynb") and ".ipynb_checkpoints" not in p.parts]


def test_readme_shows_the_ci_test_line_verbatim():
    line = (ROOT / ".ci" / "test-command").read_text().strip()
    assert "pytest" in line and line.startswith("python3.11 -m venv .venv")
    assert line in (ROOT / "README.md").read_text().splitlines(), \
        "README quick start step 2 must be the line in .ci/test-command"
    assert "test-command" in (ROOT / ".ci" / "run").read_text()


def test_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move detail into docs/"


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    text = path.read_text()
    missing = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        if not (path.parent / target.split("#")[0]).exists():
            missing.append(target)
    assert not missing, f"{path.relative_to(ROOT)}: links to missing files {missing}"


def test_design_sections_cited_exist():
    design = (ROOT / "docs" / "DESIGN.md").read_text()
    sections = set(re.findall(r"^## (\d+)\. ", design, flags=re.M))
    bad = []
    for path in SOURCE_FILES + DOC_FILES:
        for n in re.findall(r"DESIGN\.md\)? §(\d+)", path.read_text(errors="replace")):
            if n not in sections:
                bad.append(f"{path.relative_to(ROOT)}: §{n}")
    assert not bad, f"references to missing docs/DESIGN.md sections: {bad}"


def test_documentation_lives_in_the_repository():
    outside = "../" + "shared/DESIGN"   # split so that this file does not match itself
    hits = [str(p.relative_to(ROOT)) for p in SOURCE_FILES + DOC_FILES if outside in p.read_text(errors="replace")]
    assert not hits, f"documentation links outside the repository: {hits}"


# Phrases that describe how the project was made, not what the software is. Assembled from pieces
# so that this file does not match itself.
WORK_LOG = re.compile("|".join(["this " + "session", r"stop " + "[0-9]+", "the " + "issue's", "was " + "lent",
                                "development " + "machines"]), re.IGNORECASE)


def test_no_work_log_text():
    hits = []
    for path in SOURCE_FILES + DOC_FILES:
        for i, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if WORK_LOG.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:80]}")
    assert not hits, "work-log text:\n" + "\n".join(hits)
