"""Named sizes for the networks' config dataclasses: ``GeneratorConfig.preset("tiny", scale=2)``."""
from __future__ import annotations

from dataclasses import replace
from typing import ClassVar


class Presets:
    """Base of a config dataclass with a ``PRESETS`` table {name: field overrides}."""
    PRESETS: ClassVar[dict[str, dict]] = {}

    @classmethod
    def preset(cls, name: str = "default", **overrides):
        """The preset ``name`` (a key of ``PRESETS``, e.g. 'tiny', 'small', 'default') with any field
        overridden; dataclass validation runs on the result.

        Raises:
            ValueError: an unknown preset name, listing the known ones.
        """
        if name not in cls.PRESETS:
            raise ValueError(f"unknown {cls.__name__} preset {name!r}; choose one of {sorted(cls.PRESETS)}")
        return replace(cls(), **{**cls.PRESETS[name], **overrides})
