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


# Text that describes how the project was made, not what the software is. The rules, for a
# contributor: no talk of work periods, work items or the data used while building; no revision
# hashes (describe the code compared, not its commit); no "History" sections (say what is and why);
# no account of what ran beside what in cards, recipes and prose (load conditions belong beside a
# timing, in the timing tables of docs/RESULTS.md and bench/RESULTS.md); and no paths of the
# repository's neighbours in what users read (--help, docstrings: "$SRKIT_DATA").
# Patterns are assembled from pieces so that this file does not match itself.
WORK_LOG = re.compile("|".join([
    "this " + "session", r"stop " + "[0-9]+", "the " + "issue's", "was " + "lent", "development " + "machines",
    r"\bissues? #?" + r"[0-9]+\b",                                  # a numbered work item
    "the " + "development set",
    r"\b(?:revision|commit|rev\.)\s+" + r"[0-9a-f]{7,40}\b",          # a commit named by its hash
    r"this " + r"project's (?:CPU )?machine",                          # a machine of the project's own
    r"laid out like \.\./" + "shared",                                # a neighbour folder as the layout
    r"^\s*(?:#+\s*|- \*\*|\*\*)" + r"History\b",                     # a "History" section or item
    r"\bNow\b[^.]*\b(?:replaced|instead of)\b",                      # "... Now X replaced Y"
]), re.IGNORECASE | re.MULTILINE)
# Cards and recipes describe a model: load conditions there read as a diary.
DIARY = re.compile("|".join([r"\b(?:other |another )?(?:jobs?|runs?) " + r"(?:running )?beside", r"\bran " + "beside",
                             r"\bload average", r"\bbusy " + "machine", r"\breplaced " + r"it\b"]), re.IGNORECASE)
# A bare commit hash in prose (7–40 hex digits with both a digit and a letter).
HASH = re.compile(r"(?<![\w#/.:-])(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}(?![\w/.-])")
CARDS_AND_RECIPES = [*sorted((ROOT / "assets").rglob("*.md")), *sorted((ROOT / "recipes").glob("*.toml"))]


def work_log_hits(text: str, card: bool = False, prose: bool = False) -> list[str]:
    """The lines of ``text`` that read as a work log; ``card``: a model card or recipe (load
    conditions count too); ``prose``: a Markdown document (bare commit hashes count too)."""
    hits = []
    for i, line in enumerate(text.splitlines(), 1):
        if WORK_LOG.search(line) or (card and DIARY.search(line)) or (prose and HASH.search(line)):
            hits.append(f"{i}: {line.strip()[:80]}")
    return hits


# Each phrase the checker must flag, with the kind of file it appeared in.
FLAGGED = [
    ("Trained by srkit's own trainers on this project's CPU machine.", "card"),
    ("- **Stages** (2 shared vCPUs, Intel Xeon, no GPU, 1 thread per run, other jobs running beside):", "card"),
    ("- **History**: the bundle of 2026-12-01 trained on noise; this one replaced it.", "card"),
    ("- **Stages** (2 shared vCPUs of an AMD EPYC, no GPU, fp32, 1 thread, one other run beside)", "card"),
    ("The bundle of 2026-12-01 led on JPEG; this one replaced it.", "card"),
    ("## History", "prose"),
    ("countdown fill its first seconds. Revision 5040b10 judged a video on its first 50 frames.", "prose"),
    ("Now `srkit probe` looks at 5 stretches instead of the first frames.", "prose"),
    ("Side by side against the previous forward (revision 4b389ab, same weights)", "prose"),
    ("| 58b1e4a (one process, 2 threads) | 448.2 s |", "prose"),
    ('"""Networks of issue 3: shapes, conditioning behaviour, gradients, losses."""', "source"),
    ("per-class figures need data not in the development set.", "prose"),
    ('p.add_argument("--data", help="folder laid out like ../shared/data")', "source"),
    ("measured in this session on the 2-core machine", "prose"),
]
CLEAN = [
    ("Machine: 2 shared vCPUs, torch 2.14.1, no GPU, one thread, other jobs beside it.", "prose"),  # timing table
    ("The generator goes to `-o`; beside it go the networks that compute its inputs.", "card"),
    ("The guard issues one warning per file (sha256 of the tensors in the header).", "prose"),
    ("Set5/HR, Set14/HR, B100/HR_modcrop3 under $SRKIT_DATA", "source"),
    ("`x2_archive` (2026-12-06): noise on 30 % of the images, 50 % coded.", "card"),
]


@pytest.mark.parametrize("text, kind", FLAGGED, ids=[t[:40] for t, _ in FLAGGED])
def test_the_checker_flags_each_work_log_phrase(text, kind):
    assert work_log_hits(text, card=kind == "card", prose=kind == "prose"), text


@pytest.mark.parametrize("text, kind", CLEAN, ids=[t[:40] for t, _ in CLEAN])
def test_the_checker_leaves_facts_alone(text, kind):
    assert not work_log_hits(text, card=kind == "card", prose=kind == "prose"), text


def test_no_work_log_text():
    hits = []
    for path in SOURCE_FILES + DOC_FILES + CARDS_AND_RECIPES:
        if path == Path(__file__).resolve():  # the phrases above are this file's test data
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".ipynb":  # the notebook's text, not its JSON (cell ids are hex)
            import json
            text = "\n".join("".join(c.get("source", "")) for c in json.loads(text).get("cells", []))
        for hit in work_log_hits(text, card=path in CARDS_AND_RECIPES, prose=path.suffix == ".md"):
            hits.append(f"{path.relative_to(ROOT)}:{hit}")
    assert not hits, "work-log text:\n" + "\n".join(hits)


NETWORK_FILES = ["sft.py", "ikc.py", "seg.py", "disc.py", "losses.py"]


@pytest.mark.parametrize("name", NETWORK_FILES)
def test_each_network_file_names_its_paper(name):
    """Each network file's docstring has a References block with a followable link, and every
    arXiv id it cites is in docs/DESIGN.md §8."""
    import ast
    doc = ast.get_docstring(ast.parse((ROOT / "srkit" / "models" / name).read_text())) or ""
    assert "References (docs/DESIGN.md §8):" in doc, name
    ids = re.findall(r"arxiv\.org/abs/(\d{4}\.\d{4,5})", doc)
    assert ids, f"{name}: no followable reference"
    design = (ROOT / "docs" / "DESIGN.md").read_text()
    assert "## 8. References" in design
    assert all(i in design for i in ids), [i for i in ids if i not in design]
