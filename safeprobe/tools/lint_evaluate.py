"""Checking a policy's ``evaluate`` entries before any host runs them (``check``, ``lint``).

Promise: nothing of the host is imported or run. Findings name the policy file, the line of
the entry and the rule:

- ``evaluate.allow``: the entry's path is not allowed by the exposure's ``allow``, so the
  host refuses the read before anything is evaluated (evaluate never widens allow).
- ``evaluate.target``: the entry does not resolve to what it says on the target's class:
  a property named with ``()``, a method without it, a method that needs arguments, a
  classmethod, staticmethod, generator or coroutine, instance data (which needs no
  evaluate), or a name the class does not define.

The class is found by reading source, not by importing it: the target module's file
(found on ``sys.path`` without importing it or its packages; ``__main__`` only when the
caller names the host's script), its module-level ``name = Class(...)``, attribute steps
through ``self.x = Class(...)`` in ``__init__`` or ``x: Class`` in the class body, along
bases defined in that file. A finding is reported only when the text makes it certain:
an entry that cannot be followed (a base class from another module, a decorator other
than property, cached_property, classmethod or staticmethod) is left alone, never guessed.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml

from safeprobe.policy.models import Policy
from safeprobe.probe.allowlist import Access, Allowlist
from safeprobe.probe.evaluation import METHOD, PROPERTY, parse_entry
from safeprobe.tools.lint import Finding
from safeprobe.tools.lint_targets import find_module_spec

_PROPERTY_DECORATORS: Final = frozenset({"property", "cached_property"})
_BINDING_DECORATORS: Final = frozenset({"classmethod", "staticmethod"})
# Source files larger than this are not read: a module is rarely over a few hundred KiB.
_MAX_SOURCE_BYTES: Final = 4 * 1024 * 1024


def check_evaluate(policy: Policy, policy_path: str, *, main: str | None = None) -> list[Finding]:
    """Every finding for the policy's evaluate entries, in line order. ``main``: the host's
    script, to resolve ``__main__:`` targets (else they are checked against allow only)."""
    lines = _entry_lines(policy_path)
    findings: list[Finding] = []
    sources: dict[str, _Source | None] = {}
    for name, exposure in policy.expose.items():
        if not exposure.evaluate:
            continue
        allowlist = Allowlist.parse(exposure.allow)
        module, _, target = exposure.target.partition(":")
        if module not in sources:
            sources[module] = _load_source(module, main, Path(policy_path).parent)
        source = sources[module]
        for index, entry in enumerate(exposure.evaluate):
            line = lines.get((name, index))
            path, kind = parse_entry(entry)
            if allowlist.access(path) == Access.NONE:
                message = f"expose.{name}.evaluate: {entry!r} is not allowed by allow"
                hint = f"add {'.'.join(path)!r} to expose.{name}.allow, or the host refuses it"
                findings.append(Finding(policy_path, line, None, "evaluate.allow", message, hint))
            if source is None:
                continue
            problem = source.problem(tuple(target.split(".")), path, kind)
            if problem is not None:
                message = f"expose.{name}.evaluate: {entry!r} {problem}"
                findings.append(Finding(policy_path, line, None, "evaluate.target", message))
    return sorted(findings, key=lambda f: f.line or 0)


def _entry_lines(policy_path: str) -> dict[tuple[str, int], int]:
    """(exposure, index) -> the line of that evaluate entry, from the policy's YAML nodes."""
    try:
        root = yaml.compose(Path(policy_path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    found: dict[tuple[str, int], int] = {}
    for name, exposure in _pairs(_value(root, "expose")):
        entries = _value(exposure, "evaluate")
        if isinstance(entries, yaml.SequenceNode):
            for index, node in enumerate(entries.value):
                found[(name, index)] = node.start_mark.line + 1
    return found


def _value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    return dict(_pairs(node)).get(key)


def _pairs(node: yaml.Node | None) -> Iterator[tuple[str, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                yield key.value, value


# -- reading the host's source ------------------------------------------------------------


def _load_source(module: str, main: str | None, policy_dir: Path) -> _Source | None:
    file = main if module == "__main__" else _module_file(module, [str(policy_dir), *sys.path])
    if file is None:
        return None
    try:
        if Path(file).stat().st_size > _MAX_SOURCE_BYTES:
            return None
        tree = ast.parse(Path(file).read_text(encoding="utf-8"), filename=file)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError):
        return None
    return _Source(file, tree)


def _module_file(module: str, search: Sequence[str]) -> str | None:
    """The module's .py file, found without importing any of it or its packages."""
    spec = find_module_spec(module, search)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    return spec.origin


@dataclass(frozen=True, slots=True)
class _Source:
    """One module's text: its classes and the module-level instances of them."""

    file: str
    tree: ast.Module

    def _classes(self) -> dict[str, ast.ClassDef]:
        return {n.name: n for n in self.tree.body if isinstance(n, ast.ClassDef)}

    def problem(self, target: tuple[str, ...], path: tuple[str, ...], kind: str) -> str | None:
        """Why the entry cannot be what it says, or None when it is or the text is unsure."""
        classes = self._classes()
        cls = self._instance_class(target[0], classes)
        for step in (*target[1:], *path[:-1]):
            if cls is None:
                return None
            cls = self._attribute_class(cls, step, classes)
        if cls is None:
            return None
        return self._member_problem(cls, path[-1], kind, classes)

    def _instance_class(self, name: str, classes: dict[str, ast.ClassDef]) -> ast.ClassDef | None:
        """``name = Class(...)`` at module level, with Class defined here; the last wins."""
        found: ast.ClassDef | None = None
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets
            ):
                found = _constructed(node.value, classes)
        return found

    def _mro(
        self, cls: ast.ClassDef, classes: dict[str, ast.ClassDef]
    ) -> list[ast.ClassDef] | None:
        """The class and its bases, depth first; None if a base is not defined here."""
        order: list[ast.ClassDef] = []
        stack = [cls]
        while stack:
            current = stack.pop(0)
            if current in order:
                continue
            order.append(current)
            for base in current.bases:
                if isinstance(base, ast.Name) and base.id == "object":
                    continue
                if not (isinstance(base, ast.Name) and base.id in classes):
                    return None
                stack.append(classes[base.id])
        return order

    def _attribute_class(
        self, cls: ast.ClassDef, name: str, classes: dict[str, ast.ClassDef]
    ) -> ast.ClassDef | None:
        for klass in self._mro(cls, classes) or [cls]:
            for node in klass.body:
                if (
                    isinstance(node, ast.AnnAssign)
                    and isinstance(node.target, ast.Name)
                    and node.target.id == name
                    and isinstance(node.annotation, ast.Name)
                ):
                    return classes.get(node.annotation.id)
            for value in _init_assignments(klass, name):
                found = _constructed(value, classes)
                if found is not None:
                    return found
        return None

    def _member_problem(
        self, cls: ast.ClassDef, name: str, kind: str, classes: dict[str, ast.ClassDef]
    ) -> str | None:
        mro = self._mro(cls, classes)
        for klass in mro or [cls]:
            for node in klass.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                    return _function_problem(node, kind, f"{klass.name}.{name}")
                if _assigns(node, name):
                    return None  # a class attribute: property(...) or data; not certain
        if mro is None:
            return None  # it may come from a base defined elsewhere
        where = f"{cls.name} ({self.file}:{cls.lineno})"
        if any(True for k in mro for _ in _init_assignments(k, name)):
            return f"is instance data of {where}: it is read without evaluate"
        return f"names nothing that {where} defines"


def _constructed(value: ast.expr, classes: dict[str, ast.ClassDef]) -> ast.ClassDef | None:
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return classes.get(value.func.id)
    return None


def _init_assignments(cls: ast.ClassDef, name: str) -> Iterator[ast.expr]:
    """Values assigned to ``self.name`` in the class's ``__init__``."""
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__init__":
            for statement in ast.walk(node):
                if isinstance(statement, (ast.Assign, ast.AnnAssign)):
                    targets = (
                        statement.targets
                        if isinstance(statement, ast.Assign)
                        else [statement.target]
                    )
                    for target in targets:
                        if (
                            isinstance(target, ast.Attribute)
                            and isinstance(target.value, ast.Name)
                            and target.value.id == "self"
                            and target.attr == name
                            and statement.value is not None
                        ):
                            yield statement.value


def _assigns(node: ast.stmt, name: str) -> bool:
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    return (
        isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and (node.target.id == name)
    )


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    names: list[str] = []
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Name):
            names.append(decorator.id)
        elif isinstance(decorator, ast.Attribute):
            names.append(decorator.attr)
        else:
            names.append("")  # a call or subscript: not one we know
    return names


def _function_problem(
    node: ast.FunctionDef | ast.AsyncFunctionDef, kind: str, where: str
) -> str | None:
    decorators = _decorator_names(node)
    if any(d in _BINDING_DECORATORS for d in decorators):
        return f"is a classmethod or staticmethod ({where}); evaluate runs instance code only"
    if any(d in _PROPERTY_DECORATORS for d in decorators):
        if kind == METHOD:
            return f"is a property ({where}): name it without '()'"
        return None
    if decorators:
        return None  # another decorator: what it makes is not visible in the text
    if kind == PROPERTY:
        return f"is a method ({where}): name it '{node.name}()'"
    if isinstance(node, ast.AsyncFunctionDef) or _yields(node):
        return f"is a generator or coroutine function ({where}): calling it runs nothing"
    arguments = node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    required = len(positional) - len(arguments.defaults)
    keywords_required = any(d is None for d in arguments.kw_defaults)
    if (not positional and arguments.vararg is None) or required > 1 or keywords_required:
        return f"needs arguments ({where}); evaluate calls take none"
    return None


def _yields(node: ast.FunctionDef) -> bool:
    """Whether the function's own body (not a nested def or lambda) yields."""
    stack: list[ast.AST] = list(node.body)
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(current))
    return False
