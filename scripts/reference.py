"""Write docs/reference.md from the code: every policy field, every name a probe may use,
every audit record field and every command. `--check` fails when the file is stale (CI).

    python scripts/reference.py [--check]
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import pathlib
import sys
from pathlib import Path
from typing import cast

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from safeprobe.audit.record import FIELD_DOCS  # noqa: E402
from safeprobe.policy.models import policy_json_schema  # noqa: E402
from safeprobe.probe.budget import Budget, OutputBuffer  # noqa: E402
from safeprobe.probe.own_methods import SAFE_METHODS  # noqa: E402
from safeprobe.probe.render import RenderLimits  # noqa: E402
from safeprobe.probe.safe_builtins import SAFE_EXCEPTIONS  # noqa: E402
from safeprobe.probe.sandbox import AttemptState, Sandbox  # noqa: E402
from safeprobe.probe.values import ENUM_READS, ISINSTANCE_TYPES, READS_BY_ID  # noqa: E402
from safeprobe.tools.cli import build_parser  # noqa: E402

TARGET = REPO / "docs" / "reference.md"
_PATH_TYPES = (
    pathlib.PurePosixPath,
    pathlib.PureWindowsPath,
    pathlib.PosixPath,
    pathlib.WindowsPath,
)


def _type_text(spec: dict[str, object], defs: dict[str, dict[str, object]]) -> str:
    """A JSON-schema property's type as a reader writes it."""
    if "$ref" in spec:
        return "section"
    if "anyOf" in spec:
        parts = [_type_text(cast("dict[str, object]", s), defs) for s in spec["anyOf"]]  # type: ignore[attr-defined]
        return " or ".join(dict.fromkeys(parts))
    if "enum" in spec:
        return "one of " + ", ".join(json.dumps(v) for v in spec["enum"])  # type: ignore[attr-defined]
    kind = spec.get("type")
    if kind == "array":
        return f"list of {_type_text(cast('dict[str, object]', spec.get('items', {})), defs)}"
    if kind == "object" and "additionalProperties" in spec:
        return "mapping"
    if isinstance(kind, list):
        return " or ".join(kind)
    return str(kind or "any")


def policy_rows() -> list[tuple[str, str, str, str]]:
    """(path, type, default, description) for every field of the policy's JSON schema,
    nested sections opened in place (``expose.<name>.target`` for mappings)."""
    schema = policy_json_schema()
    defs = cast("dict[str, dict[str, object]]", schema["$defs"])
    rows: list[tuple[str, str, str, str]] = []

    def walk(properties: dict[str, dict[str, object]], prefix: str, required: object) -> None:
        for name, spec in properties.items():
            path = f"{prefix}{name}"
            needed = isinstance(required, list) and name in required
            default = json.dumps(spec["default"]) if "default" in spec else "none"
            if needed:
                default = "required"
            if "$ref" in spec or (isinstance(spec.get("default"), dict) and spec["default"]):
                default = "see below" if "default" in spec else "required"
            nullable = [
                s for s in cast("list[dict[str, object]]", spec.get("anyOf", [])) if "$ref" in s
            ]
            rows.append((path, _type_text(spec, defs), default, str(spec.get("description", ""))))
            target = spec.get("$ref") or (nullable[0]["$ref"] if nullable else None)
            extra = spec.get("additionalProperties")
            if isinstance(extra, dict) and "$ref" in extra:
                target, path = extra["$ref"], f"{path}.<name>"
            if isinstance(target, str):
                sub = defs[target.rsplit("/", 1)[1]]
                props = cast("dict[str, dict[str, object]]", sub["properties"])
                walk(props, f"{path}.", sub.get("required"))

    walk(cast("dict[str, dict[str, object]]", schema["properties"]), "", schema.get("required"))
    return rows


def probe_names() -> tuple[list[str], list[str], list[str]]:
    """The builtins, the stdlib type names and the exception classes a probe sees."""
    budget = Budget(timeout_s=1.0, max_steps=1, max_items=1)
    state = AttemptState(budget=budget, output=OutputBuffer(1), render_limits=RenderLimits())
    names = set(Sandbox(state).globals({}, name="probe")["__builtins__"])  # type: ignore[arg-type]
    exceptions = sorted(e.__name__ for e in SAFE_EXCEPTIONS)
    stdlib = sorted(ISINSTANCE_TYPES)
    builtins = sorted(names - set(exceptions) - set(stdlib) - {"True", "False", "None"})
    return builtins, stdlib, exceptions


def render() -> str:
    out = [
        "# Reference",
        "",
        "Generated from the code by `python scripts/reference.py`; CI fails when it is stale.",
        "What each entry means is in [policy.md](policy.md), [audit.md](audit.md) and",
        "[operators.md](operators.md).",
        "",
        "## Policy fields",
        "",
        "| field | type | default | note |",
        "|---|---|---|---|",
    ]
    out += [f"| `{p}` | {t} | `{d}` | {n} |" for p, t, d, n in policy_rows()]
    builtins, stdlib, exceptions = probe_names()
    out += [
        "",
        "## Names a probe may use",
        "",
        "Builtins (and `print`, to the captured output):",
        "",
    ]
    out += [", ".join(f"`{n}`" for n in builtins), "", "Stdlib type names (for `isinstance`):", ""]
    out += [", ".join(f"`{n}`" for n in stdlib), "", "Exception classes:", ""]
    out += [", ".join(f"`{n}`" for n in exceptions), ""]
    out += ["Methods of the probe's own values:", "", "| type | methods |", "|---|---|"]
    out += [
        f"| `{kind.__name__}` | {', '.join(f'`{m}`' for m in sorted(methods))} |"
        for kind, methods in SAFE_METHODS.items()
    ]
    out += ["", "Reads of stdlib values (values.py):", "", "| type | reads |", "|---|---|"]
    # The types a probe cannot name for isinstance, but whose values it may hold.
    others = (
        range,
        type(datetime.date(2000, 1, 1).isocalendar()),
        ipaddress.IPv4Interface,
        ipaddress.IPv6Interface,
        *_PATH_TYPES,
    )
    by_id = {id(kind): kind for kind in (*ISINSTANCE_TYPES.values(), *others)}
    rows = []
    for kind_id, reads in READS_BY_ID.items():
        label = by_id[kind_id].__name__
        rows.append(f"| `{label}` | {', '.join(f'`{m}`' for m in sorted(reads))} |")
    out += sorted(rows)
    out += [f"| enum members | {', '.join(f'`{m}`' for m in sorted(ENUM_READS))} |"]
    out += ["", "## Audit record fields", "", "| field | meaning |", "|---|---|"]
    out += [f"| `{name}` | {doc} |" for name, doc in FIELD_DOCS]
    out += [""]
    out += ["## Commands", "", "| command | what it does |", "|---|---|"]
    out += _commands(build_parser(), "safeprobe")
    return "\n".join(out) + "\n"


def _commands(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
    rows: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                nested = _commands(sub, f"{prefix} {name}")
                if nested:
                    rows.extend(nested)
                else:
                    rows.append(f"| `{prefix} {name}` | {helps.get(name, '')} |")
    return rows


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is stale: run python scripts/reference.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
