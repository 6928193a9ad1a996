"""Benchmark images for users who are online: ``srkit data fetch --to DIR`` downloads Set5, Set14,
B100 and Urban100 from the HuggingFace Hub into the layout ``--data`` expects (docs/DESIGN.md §4):
``DIR/Set5/HR``, ``DIR/Set14/HR``, ``DIR/B100/HR``, ``DIR/Urban100/HR``.

The sources are the HR archives of the ``eugenesiow/<set>`` dataset repositories (``data/<set>_HR.tar.gz``,
fetched with ``huggingface_hub``, which ``datasets`` installs; the repositories' loading scripts are
not used). Only image files are taken from an archive, each written under its own file name, so an
archive cannot write outside the target folder. A set already present is left alone.

The published tables were computed on the standard releases of these sets; ``srkit bench bicubic
--data DIR`` checks a fetched copy against them (within 0.02 dB on the development copy).
"""
from __future__ import annotations

import tarfile
from pathlib import Path

# srkit's name → (Hub dataset repository, archive inside it)
SOURCES = {
    "Set5": ("eugenesiow/Set5", "data/Set5_HR.tar.gz"),
    "Set14": ("eugenesiow/Set14", "data/Set14_HR.tar.gz"),
    "B100": ("eugenesiow/BSD100", "data/BSD100_HR.tar.gz"),
    "Urban100": ("eugenesiow/Urban100", "data/Urban100_HR.tar.gz"),
}
IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")


class FetchError(RuntimeError):
    """A set could not be downloaded; the message says which and what to do instead."""


def download_archive(repo: str, filename: str) -> Path:
    """The archive's local path (the Hub cache); FetchError when offline or unreachable."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as e:  # pragma: no cover - datasets depends on it
        raise FetchError(f"huggingface_hub is not installed ({e}); pip install huggingface_hub") from None
    try:
        return Path(hf_hub_download(repo_id=repo, filename=filename, repo_type="dataset"))
    except Exception as e:  # offline mode, no network, missing file: one message, named
        raise FetchError(f"cannot download {filename} from the HuggingFace dataset {repo}: "
                         f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".rstrip(": .")) from None


def extract_images(archive: Path, folder: Path) -> int:
    """Write every image file of a .tar.gz into ``folder`` (flat, by file name); returns the count.
    The folder appears only when complete (written to a temporary sibling first)."""
    tmp = folder.with_name(folder.name + ".partial")
    if tmp.exists():
        import shutil
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    n = 0
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if not member.isfile() or name.startswith(".") or Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            data = tar.extractfile(member)
            if data is None:
                continue
            (tmp / name).write_bytes(data.read())
            n += 1
    if n == 0:
        raise FetchError(f"{archive}: no image files inside")
    tmp.rename(folder)
    return n


def fetch(to: str | Path, sets=("Set5", "Set14", "B100", "Urban100"), log=print) -> dict[str, Path]:
    """Download and unpack ``sets`` under ``to``; returns {set: HR folder}. A set whose HR folder
    already holds images is kept. Raises FetchError naming the first set that cannot be had."""
    to = Path(to)
    unknown = [s for s in sets if s not in SOURCES]
    if unknown:
        raise ValueError(f"unknown benchmark(s) {unknown}; srkit fetches {', '.join(SOURCES)}")
    done = {}
    for name in sets:
        folder = to / name / "HR"
        if folder.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir()):
            log(f"{name}: already in {folder}")
            done[name] = folder
            continue
        repo, filename = SOURCES[name]
        try:
            archive = download_archive(repo, filename)
        except FetchError as e:
            raise FetchError(f"{name}: {e}. Without a connection, copy the {name} HR images into {folder} "
                             "yourself (or point --data / SRKIT_DATA at a folder that has them).") from None
        folder.parent.mkdir(parents=True, exist_ok=True)
        n = extract_images(archive, folder)
        log(f"{name}: {n} images → {folder}")
        done[name] = folder
    return done
