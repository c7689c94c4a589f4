"""Whether a policy's ``expose`` targets can be found, told before any host runs (``check``,
``lint``).

Promise: nothing is imported or run. A module target is looked for as the import system
would (beside the policy, then this Python's ``sys.path``) by path finders only, which read
directories and never import the module or its packages; a ``__main__:`` target is looked
for among the top-level names the host's script binds, when the caller names the script.
What cannot be told that way (a module found only in the host's own environment, names a
script binds in ways other than a plain assignment, def, class or import) is a warning at
most: the host may import a module or set a name after ``install()``, so nothing here fails
a policy.
"""

from __future__ import annotations

import ast
import importlib.machinery
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from safeprobe.policy.models import Policy


def find_module_spec(module: str, search: Sequence[str]) -> importlib.machinery.ModuleSpec | None:
    """The module's spec, found as the import system would, without importing any of it or
    its packages (PathFinder only looks at directories); None when it is not there."""
    path: list[str] | None = list(search)
    spec = None
    for part in module.split("."):
        if path is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(part, path)
        if spec is None:
            return None
        locations = spec.submodule_search_locations
        path = list(locations) if locations is not None else None
    return spec


def unresolved_targets(policy: Policy, policy_path: str, *, main: str | None = None) -> list[str]:
    """A warning per exposure whose target cannot be found from here: ``<file>:<line>:
    expose.<name>.target: ...``."""
    lines = _target_lines(policy_path)
    search = [str(Path(policy_path).parent), *sys.path]
    warnings: list[str] = []
    main_names = _top_level_names(main) if main is not None else None
    for name, exposure in policy.expose.items():
        module, _, attr_path = exposure.target.partition(":")
        line = lines.get(name)
        where = f"{policy_path}:{line}" if line is not None else policy_path
        prefix = f"{where}: expose.{name}.target: {exposure.target}"
        first = attr_path.split(".", 1)[0]
        if module == "__main__":
            if main_names is not None and first not in main_names:
                warnings.append(f"{prefix}: {main} binds no top-level {first!r}")
            continue
        if module in sys.builtin_module_names:
            continue
        if find_module_spec(module, search) is None:
            warnings.append(
                f"{prefix}: module {module!r} is not found beside the policy or on this "
                "Python's sys.path; the host must have imported it before a signal"
            )
    return warnings


def _target_lines(policy_path: str) -> dict[str, int]:
    """exposure name -> the line of its target, from the policy's YAML nodes."""
    try:
        root = yaml.compose(Path(policy_path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    found: dict[str, int] = {}
    expose = _child(root, "expose")
    if isinstance(expose, yaml.MappingNode):
        for key, value in expose.value:
            target = _child(value, "target")
            if isinstance(key, yaml.ScalarNode) and target is not None:
                found[key.value] = target.start_mark.line + 1
    return found


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for name, value in node.value:
            if isinstance(name, yaml.ScalarNode) and name.value == key:
                found: yaml.Node = value
                return found
    return None


def _top_level_names(script: str) -> frozenset[str] | None:
    """The names a script binds at its top level (assignments, defs, classes, imports,
    also inside top-level if/try/with/for blocks); None when it cannot be read or uses a
    star import or a global-changing trick that makes the set unsure."""
    try:
        tree = ast.parse(Path(script).read_text(encoding="utf-8"), filename=script)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError):
        return None
    names: set[str] = set()
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return None
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            if any(isinstance(n, ast.Global) for n in ast.walk(node)):
                return None  # a function that sets a global: unsure which names it binds
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
            continue
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                names.add(child.id)
        for field in ("body", "orelse", "finalbody", "handlers"):
            for inner in getattr(node, field, ()):
                if isinstance(inner, ast.stmt):
                    stack.append(inner)
                elif isinstance(inner, ast.ExceptHandler):
                    stack.extend(inner.body)
    return frozenset(names)
