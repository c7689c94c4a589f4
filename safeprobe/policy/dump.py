"""The effective policy written back as YAML, for the people who review it.

Promise: ``dump_policy(p)`` parses (``parse_policy`` with the same path) to a policy equal
to ``p``. Every key is written, defaults included and marked ``# default`` where the value
equals the default; durations and sizes are written with the largest unit that is exact
(``500ms``, ``64KiB``), and as plain seconds or bytes when no unit is. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import yaml
from pydantic import BaseModel

from safeprobe.policy.models import Policy
from safeprobe.policy.units import parse_duration

_INDENT: Final = "  "
_DEFAULT_MARK: Final = "# default"
# The marks line up in one column, unless a long value (a path) would push it far right.
_MARK_COLUMN_MAX: Final = 40
# Largest first, so 7200 seconds reads 2h and 120 seconds 2m.
_DURATION_UNITS: Final = (("h", 3600.0), ("m", 60.0), ("s", 1.0), ("ms", 0.001))
_SIZE_UNITS: Final = (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024))


def dump_policy(policy: Policy) -> str:
    """The policy as YAML with every key, in the models' (documented) order."""
    lines = _model_lines(policy, 0)
    marked = [len(text) for text, default in lines if default] or [0]
    column = min(max(marked), _MARK_COLUMN_MAX) + 2
    return "".join(
        f"{text.ljust(column)}{_DEFAULT_MARK}\n" if default else f"{text}\n"
        for text, default in lines
    )


def format_duration(seconds: float) -> str | float:
    """``500ms``, ``2s``, ``1m``: the largest unit whose whole count reads back exactly."""
    if seconds == 0:
        return "0s"
    for unit, per_unit in _DURATION_UNITS:
        count = round(seconds / per_unit)
        if count >= 1 and parse_duration(f"{count}{unit}") == seconds:
            return f"{count}{unit}"
    return seconds


def format_size(size: int) -> str:
    """``64KiB``, ``1GiB``, ``100B``: the largest binary unit that divides the size."""
    for unit, per_unit in _SIZE_UNITS:
        if size and size % per_unit == 0:
            return f"{size // per_unit}{unit}"
    return f"{size}B"


def _model_lines(model: BaseModel, depth: int) -> list[tuple[str, bool]]:
    """(line, whether its value equals the default) for each key, nested models indented."""
    lines: list[tuple[str, bool]] = []
    pad = _INDENT * depth
    for name, field in type(model).model_fields.items():
        key = field.alias or name
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            lines.append((f"{pad}{key}:", False))
            lines.extend(_model_lines(value, depth + 1))
            continue
        default = _is_default(value, field.get_default(call_default_factory=True))
        if isinstance(value, Mapping) and value:
            lines.append((f"{pad}{key}:", default))
            for entry, inner in value.items():
                lines.append((f"{pad}{_INDENT}{_scalar(entry)}:", False))
                lines.extend(_model_lines(inner, depth + 2))
            continue
        lines.append((f"{pad}{key}: {_value(name, value)}", default))
    return lines


def _is_default(value: object, default: object) -> bool:
    if isinstance(value, Mapping) and isinstance(default, Mapping):
        return dict(value) == dict(default)
    return type(value) is type(default) and value == default


def _value(name: str, value: object) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, tuple):
        return _scalar(list(value))  # as one flow list, so PyYAML quotes "a," and the like
    # Units are in the field names (STYLE.md §6): *_s fields hold seconds, *_bytes bytes.
    if name.endswith("_s") and isinstance(value, float):
        return _scalar(format_duration(value))
    if name.endswith("_bytes") and type(value) is int:
        return _scalar(format_size(value))
    return _scalar(value)


def _scalar(value: object) -> str:
    """A scalar or flow list on one line, quoted by PyYAML where it would read back otherwise."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=2**31 - 1)
    return text.removesuffix("\n").removesuffix("\n...").strip()
