"""A policy file read into a Policy: YAML with line numbers, and errors an operator can act on.

Promise: a policy either loads completely, with every value checked, or fails with a
PolicyError naming the file, the 1-based line and the field (YAML key names joined by
dots), with a hint where the likely fix is known. Nothing is ignored: an unknown key, a
duplicate key, a YAML type a policy does not use, or a feature not supported yet is an
error, because a silently dropped line can weaken a policy. YAML is read with PyYAML's
safe loader only, and a file past MAX_POLICY_BYTES is refused before it is parsed.
Relative paths are resolved against the policy file's directory. Threat model:
SECURITY.md, "Allowlist".
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import yaml
from pydantic import BaseModel, ValidationError

from safeprobe.errors import PolicyError
from safeprobe.policy.builtins import resolve_policy
from safeprobe.policy.defaults import MAX_POLICY_BYTES
from safeprobe.policy.fields import check_label
from safeprobe.policy.models import Exposure, Policy
from safeprobe.policy.units import SHOWN_CHARS, excerpt

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

_YAML_TAG: Final = "tag:yaml.org,2002:"
_STR_TAG: Final = _YAML_TAG + "str"
_MERGE_TAG: Final = _YAML_TAG + "merge"
# The YAML types a policy is written in. Left out on purpose: timestamps, binary, sets,
# omaps and pairs (no policy field holds one, and `name: 2024-01-01` becoming a date is
# a surprise best reported at its line), and every application tag.
_SCALAR_TAGS: Final = frozenset(
    _YAML_TAG + kind for kind in ("str", "int", "float", "bool", "null")
)
_PROBLEM_CHARS: Final = 160

_Loc = tuple[int | str, ...]


class _PolicyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reporting a value it cannot build at that value's line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> object:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError):
            # e.g. an integer longer than Python's int-from-text digit limit.
            raise yaml.constructor.ConstructorError(
                None, None, "this value cannot be read", node.start_mark
            ) from None


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _field(loc: _Loc) -> str:
    """YAML key names joined by dots, list indexes as [2]; keys shown safely."""
    text = ""
    for segment in loc:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif segment != "[key]":
            shown = (
                segment
                if segment.isprintable() and len(segment) <= SHOWN_CHARS
                else excerpt(segment)
            )
            text += f".{shown}" if text else shown
    return text or "policy"


# Most YAML errors in a hand-written policy are a line indented one step off, a tab, or an
# unquoted value holding ": " (PyYAML reports them where it noticed, often a line later).
_YAML_HINT: Final = "; check the indentation (spaces, not tabs) and quoting here and just above"
# What to write, for the required keys an operator leaves out.
_MISSING_HINTS: Final = {
    "version": "add 'version: 1' as the first line",
    "probe": "add 'probe: {path: probes/NAME.py}' (relative to this file)",
    "path": "add 'path: probes/NAME.py' (relative to the policy file)",
    "target": "add 'target: \"__main__:my_object\"' (module:attribute.path)",
}


def _short(problem: str) -> str:
    return problem if len(problem) <= _PROBLEM_CHARS else problem[: _PROBLEM_CHARS - 1] + "…"


def _yaml_error(exc: yaml.YAMLError, text: str, path: str) -> PolicyError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        parts = [part for part in (exc.context, exc.problem) if part]
        problem = _short(": ".join(parts) or "not valid YAML") + _YAML_HINT
        return PolicyError(path, line, "yaml", problem)
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.position, int):
        line = text.count("\n", 0, exc.position) + 1
        code = (
            exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        )
        return PolicyError(path, line, "yaml", f"character U+{code:04X} is not allowed in YAML")
    return PolicyError(path, None, "yaml", "not valid YAML")


def _check_nodes(root: yaml.Node, path: str) -> None:
    """Refuse duplicate keys, non-string keys and YAML types a policy does not use.

    PyYAML keeps the last of two equal keys without a word; a policy with two `allow:`
    lines would then mean something its reviewer did not read. Walks in document order,
    visiting a node reached again through an alias once.
    """
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, _Loc]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        children: list[tuple[yaml.Node, _Loc]] = []
        if isinstance(node, yaml.MappingNode) and node.tag == _YAML_TAG + "map":
            first_line: dict[str, int] = {}
            for key, value in node.value:
                if key.tag == _MERGE_TAG:
                    children.append((value, loc))
                    continue
                if not isinstance(key, yaml.ScalarNode) or key.tag != _STR_TAG:
                    shown = (
                        excerpt(key.value)
                        if isinstance(key, yaml.ScalarNode)
                        else "a list or mapping"
                    )
                    raise PolicyError(path, _line(key), _field(loc), f"key {shown} is not a string")
                if key.value in first_line:
                    problem = f"duplicate key (first at line {first_line[key.value]})"
                    raise PolicyError(path, _line(key), _field((*loc, key.value)), problem)
                first_line[key.value] = _line(key)
                children.append((value, (*loc, key.value)))
        elif isinstance(node, yaml.SequenceNode) and node.tag == _YAML_TAG + "seq":
            children.extend((item, (*loc, index)) for index, item in enumerate(node.value))
        elif not isinstance(node, yaml.ScalarNode) or node.tag not in _SCALAR_TAGS:
            kind = node.tag.removeprefix(_YAML_TAG)
            problem = f"YAML type {excerpt(kind)} is not used in policies"
            if isinstance(node, yaml.ScalarNode):
                problem += "; quote the value if it is text"
            raise PolicyError(path, _line(node), _field(loc), problem)
        stack.extend(reversed(children))


def _read_yaml(text: str, path: str) -> tuple[yaml.Node | None, object]:
    """Compose the document (for lines), check it, then build plain data from it."""
    try:
        loader = _PolicyLoader(text)  # checks every character up front
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_nodes(root, path)
        return root, loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None
    except RecursionError:
        raise PolicyError(path, None, "yaml", "nested too deeply") from None
    finally:
        loader.dispose()


def _locate(root: yaml.Node, loc: _Loc) -> tuple[int, int]:
    """Lines of the deepest node along loc: (its key, its value)."""
    node, key_line, value_line = root, _line(root), _line(root)
    for segment in loc:
        found: tuple[yaml.Node, yaml.Node] | None = None
        if isinstance(node, yaml.MappingNode):
            # The last match wins, as in PyYAML: merged keys come before explicit ones.
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == segment:
                    found = (key, value)
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(segment, int)
            and 0 <= segment < len(node.value)
        ):
            found = (node.value[segment], node.value[segment])
        if found is None:
            break
        node = found[1]
        key_line, value_line = _line(found[0]), _line(found[1])
    return key_line, value_line


def _model_at(loc: _Loc) -> type[BaseModel] | None:
    """The model that validates the mapping at loc, to list its keys."""
    model: type[BaseModel] = Policy
    rest = list(loc)
    while rest:
        segment = rest.pop(0)
        if model is Policy and segment == "expose" and rest:
            rest.pop(0)
            model = Exposure
            continue
        fields = model.model_fields.items()
        annotation = next((f.annotation for n, f in fields if (f.alias or n) == segment), None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _problem(error: ErrorDetails) -> str:
    kind, loc, value = error["type"], error["loc"], error["input"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        known = [field.alias or name for name, field in model.model_fields.items()] if model else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key{hint}; known keys: {', '.join(known)}"
    if kind == "missing":
        return "required key is missing"
    if kind == "value_error" and "ctx" in error:
        return _short(str(error["ctx"]["error"]))
    plain = {
        "model_type": "expected a mapping of keys",
        "dict_type": "expected a mapping of keys",
        "tuple_type": "expected a list",
        "string_type": "expected a string",
        "int_type": "expected a whole number",
        "bool_type": "expected true or false",
    }
    problem = plain.get(kind) or error["msg"].replace("Input should be", "must be", 1)
    if value is None or isinstance(value, str | int | float | bool):
        problem += f", got {excerpt(value)}"
    return _short(problem)


def _hint(error: ErrorDetails) -> str:
    """What the operator most likely meant, as "; hint", or "" when there is no good guess."""
    kind, loc, value = error["type"], error["loc"], error["input"]
    hint: str | None = None
    if kind == "missing":
        hint = _MISSING_HINTS.get(str(loc[-1]))
    elif kind == "literal_error" and isinstance(value, str):
        allowed = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        close = difflib.get_close_matches(value, allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else None
    elif kind == "int_type" and isinstance(value, str) and value.strip().isdigit():
        hint = "write the number without quotes"
    elif kind == "bool_type" and isinstance(value, str):
        hint = "write true or false, without quotes"
    elif (
        kind == "value_error"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and value > 0
        and _holds_seconds(loc)
    ):
        hint = f"a bare number is seconds; write {value:g}ms for milliseconds"
    return f"; {hint}" if hint else ""


def _holds_seconds(loc: _Loc) -> bool:
    """Whether the key at loc is a duration (its field name ends in _s, STYLE.md §6)."""
    model = _model_at(loc[:-1])
    fields = model.model_fields.items() if model else ()
    return any((f.alias or n) == loc[-1] and n.endswith("_s") for n, f in fields)


def _policy_error(exc: ValidationError, root: yaml.Node, path: str) -> PolicyError:
    """The first problem in file order, at its line, counting the others."""
    located = []
    for error in exc.errors(include_url=False):
        key_line, value_line = _locate(root, error["loc"])
        at_key = error["type"] in ("extra_forbidden", "missing") or "[key]" in error["loc"]
        located.append((key_line if at_key else value_line, error))
    located.sort(key=lambda pair: pair[0])
    line, first = located[0]
    problem = _problem(first) + _hint(first)
    if len(located) > 1:
        problem += f" (and {len(located) - 1} more problem{'s' if len(located) > 2 else ''})"
    return PolicyError(path, line, _field(first["loc"]), problem)


def _resolved(policy: Policy, path: str, data_dir: str | None) -> Policy:
    """Paths made absolute against the policy file's directory (the data paths against
    data_dir when given: a built-in's, policy/builtins.py); the name filled in."""
    # Lexical, like os.path.abspath: symlinks are not followed, because the probe
    # reader refuses a symlinked probe file itself and must see the path as written.
    base = Path(path).absolute().parent
    data_base = base if data_dir is None else Path(data_dir).absolute()

    def at(value: str) -> str:
        return os.path.normpath(base / value)

    def data_at(value: str) -> str:
        return os.path.normpath(data_base / value)

    name = policy.name or Path(path).stem
    try:
        check_label(name)
    except ValueError as exc:
        raise PolicyError(path, None, "name", f"taken from the file name: {exc}") from None
    key_file = policy.audit.hmac_key_file
    audit = policy.audit.model_copy(
        update={
            "path": data_at(policy.audit.path),
            "hmac_key_file": None if key_file is None else data_at(key_file),
        }
    )
    probe = policy.probe.model_copy(update={"path": at(policy.probe.path)})
    named = policy.probes.items()
    probes = MappingProxyType(
        {name: spec.model_copy(update={"path": at(spec.path)}) for name, spec in named}
    )
    return policy.model_copy(
        update={
            "name": name,
            "probe": probe,
            "probes": probes,
            "audit": audit,
            "output_dir": data_at(policy.output_dir),
        }
    )


def parse_policy(text: str, *, path: str, data_dir: str | None = None) -> Policy:
    """YAML text in, Policy out, or PolicyError naming path, line and field. Pure.

    Relative paths in the policy are resolved, lexically, against the directory of
    `path` (itself taken from the working directory when relative); the audit log, HMAC
    key and result directory against ``data_dir`` instead when given. Nothing is read.
    """
    if len(text) > MAX_POLICY_BYTES:
        raise PolicyError(path, None, "file", "larger than 1 MiB; a policy is a page of YAML")
    root, data = _read_yaml(text, path)
    if root is None or data is None:
        raise PolicyError(
            path, None, "policy", "the file is empty; a policy needs version and probe"
        )
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        raise PolicyError(path, _line(root), "policy", f"expected a mapping of keys, found {kind}")
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise _policy_error(exc, root, path) from None
    return _resolved(policy, path, data_dir)


def read_policy_bytes(path: str) -> bytes:
    """The policy file's bytes, read no further than the cap; a missing, unreadable or
    larger file is a PolicyError. The one way a policy file is read (the runner too).
    Opened without waiting (O_NONBLOCK) and checked on the descriptor it reads: a FIFO or a
    device at the path, even one swapped in after a caller's own check, is refused at once,
    never waited on (the policy may be another user's: trigger as root)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise PolicyError(path, None, "file", "not a regular file")
            data = file.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyError(path, None, "file", exc.strerror or "cannot be read") from None
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(path, None, "file", "larger than 1 MiB; a policy is a page of YAML")
    return data


def parse_policy_bytes(data: bytes, *, path: str, data_dir: str | None = None) -> Policy:
    """``parse_policy`` of the file's bytes, which must be UTF-8. Pure."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(path, None, "file", f"not UTF-8 (byte {exc.start})") from None
    return parse_policy(text, path=path, data_dir=data_dir)


def load_policy(path: str | os.PathLike[str], *, data_dir: str | None = None) -> Policy:
    """Read the policy file, or the built-in policy of that name (policy/builtins.py), and
    parse it; a missing or unreadable file is a PolicyError. ``data_dir``: as in
    ``parse_policy`` (a built-in name brings its own: the working directory now)."""
    ref = resolve_policy(path)
    name = ref.path
    where = ref.data_dir if data_dir is None else data_dir
    return parse_policy_bytes(read_policy_bytes(name), path=name, data_dir=where)
