"""A video job's plan on disk: ``manifest.json`` in the work folder, plain JSON with a versioned schema.

Nothing in a work folder is unpickled: the folder may come from a shared file system that other
people or machines write to, and a pickle runs code when loaded. Loading checks every field, so a
foreign, old or damaged file is refused with one line naming it (``ManifestError``), never half read.

Schema, version 1 (``MANIFEST_VERSION``)::

    {"format": "srkit-video-job",      # MANIFEST_FORMAT: anything else is not a srkit job
     "version": 1,                     # MANIFEST_VERSION: another number is refused
     "fingerprint": "<16 hex digits>", # input (path, size, mtime), options, model (VideoJob)
     "source": "<input path>", "target": "<output path>",
     "plan": {<every field of VideoPlan>},
     "scan": {<every field of Scan>, "chunks": [{<every field of Chunk>}, ...]}}

Field values by their type in the dataclass: ``Fraction`` as "NUM/DEN" (exact), ``tuple[int,
int]`` as a two-item list, ``dict[int, str]`` with its keys as decimal strings (JSON keys are
strings), ``X | None`` as null when unset; ints, floats, bools, strings and lists as themselves.
A field missing, extra or of another type is refused. Chunk records (``done/NNNNN.json``) are
separate: a chunk counts as done only when its record reads back and its file has the recorded
size (``VideoJob.done``).
"""
from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from pathlib import Path

from srkit.inference.video.chunks import Chunk, Scan
from srkit.inference.video.plan import VideoPlan

MANIFEST_FORMAT = "srkit-video-job"
MANIFEST_VERSION = 1


class ManifestError(ValueError):
    """A work folder's manifest that this srkit cannot resume from (foreign, old or damaged)."""


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_list(value) -> list[int]:
    if not isinstance(value, list) or not all(_is_int(v) for v in value):
        raise TypeError("a list of integers")
    return value


def _str_list(value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("a list of strings")
    return value


def _fraction_in(value) -> Fraction:
    if not isinstance(value, str):
        raise TypeError('a fraction written "NUM/DEN"')
    try:
        return Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise TypeError('a fraction written "NUM/DEN"') from None


def _typed(check, what: str):
    def read(value):
        if not check(value):
            raise TypeError(what)
        return value
    return read


def _pair_in(value) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2 or not all(_is_int(v) for v in value):
        raise TypeError("a list of two integers")
    return tuple(value)


def _int_map_in(value) -> dict[int, str]:
    if not isinstance(value, dict) or not all(k.isdigit() and isinstance(v, str) for k, v in value.items()):
        raise TypeError("an object of stream index -> name")
    return {int(k): v for k, v in value.items()}


def _chunks_in(value) -> list[Chunk]:
    if not isinstance(value, list):
        raise TypeError("a list of chunks")
    return [_record_in(Chunk, item, "chunk") for item in value]


# annotation (as written in the dataclasses) -> (to JSON, from JSON with its check)
_TYPES = {
    "int": (lambda v: v, _typed(_is_int, "an integer")),
    "float": (float, _typed(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number")),
    "bool": (lambda v: v, _typed(lambda v: isinstance(v, bool), "true or false")),
    "str": (lambda v: v, _typed(lambda v: isinstance(v, str), "a string")),
    "Fraction": (lambda v: f"{v.numerator}/{v.denominator}", _fraction_in),
    "tuple[int, int]": (list, _pair_in),
    "list[int]": (list, _int_list),
    "list[str]": (list, _str_list),
    "dict[int, str]": (lambda v: {str(k): s for k, s in v.items()}, _int_map_in),
    "list[Chunk]": (lambda v: [_record_out(c) for c in v], _chunks_in),
}


def _codec(annotation: str):
    optional = annotation.endswith(" | None")
    to_json, from_json = _TYPES[annotation[:-len(" | None")] if optional else annotation]
    if not optional:
        return to_json, from_json
    return (lambda v: None if v is None else to_json(v)), (lambda v: None if v is None else from_json(v))


def _record_out(record) -> dict:
    return {f.name: _codec(f.type)[0](getattr(record, f.name)) for f in dataclasses.fields(record)}


def _record_in(cls, data, what: str):
    if not isinstance(data, dict):
        raise TypeError(f"{what}: not an object")
    names = [f.name for f in dataclasses.fields(cls)]
    missing, extra = [n for n in names if n not in data], sorted(set(data) - set(names))
    if missing or extra:
        raise TypeError(f"{what}: " + "; ".join(
            ([f"missing {', '.join(missing)}"] if missing else []) +
            ([f"unknown {', '.join(extra)}"] if extra else [])))
    values = {}
    for f in dataclasses.fields(cls):
        try:
            values[f.name] = _codec(f.type)[1](data[f.name])
        except TypeError as error:
            raise TypeError(f"{what}.{f.name} is not {error}") from None
    return cls(**values)


def manifest_json(fingerprint: str, source: Path, target: Path, plan: VideoPlan, scan: Scan) -> bytes:
    """The manifest of a planned job (schema in the module docstring), as UTF-8 JSON."""
    manifest = dict(format=MANIFEST_FORMAT, version=MANIFEST_VERSION, fingerprint=fingerprint,
                    source=str(source), target=str(target), plan=_record_out(plan),
                    scan=_record_out(scan))
    return json.dumps(manifest, indent=1).encode()


def read_manifest(path: Path) -> tuple[str, VideoPlan, Scan]:
    """(fingerprint, plan, scan) from ``path``; ``ManifestError`` (one line naming the file) for a
    file that is not JSON, not a srkit job manifest, of another schema version, or not valid."""
    def refuse(why: str) -> ManifestError:
        return ManifestError(f"{path}: {why}; this srkit cannot resume from it (--fresh starts over)")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise refuse("not UTF-8 text") from None
    except ValueError as error:
        raise refuse(f"not JSON ({error})") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise refuse("not a srkit video job manifest" if not isinstance(data, dict) or "scan" not in data
                     else "written by an older srkit (no format version)")
    if data.get("version") != MANIFEST_VERSION:
        raise refuse(f"schema version {data.get('version')!r}, this srkit reads version {MANIFEST_VERSION}")
    fingerprint = data.get("fingerprint")
    if not isinstance(fingerprint, str):
        raise refuse("no fingerprint")
    try:
        plan = _record_in(VideoPlan, data.get("plan"), "plan")
        scan = _record_in(Scan, data.get("scan"), "scan")
    except TypeError as error:
        raise refuse(f"invalid: {error}") from None
    why = _inconsistent(scan)
    if why:
        raise refuse(f"invalid: {why}")
    return fingerprint, plan, scan


def _inconsistent(scan: Scan) -> str:
    """Why the chunks do not tile the pictures in order ("" when they do)."""
    at = 0
    for number, chunk in enumerate(scan.chunks):
        if chunk.index != number or chunk.start != at or chunk.stop <= chunk.start:
            return f"chunk {number} does not follow on from the one before"
        at = chunk.stop
    if at != len(scan.pts) or not scan.chunks:
        return f"the chunks cover {at} of {len(scan.pts)} pictures"
    return ""
