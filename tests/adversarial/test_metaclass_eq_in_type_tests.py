"""Technique: reach a host metaclass's ``__eq__`` through safeprobe's own type tests.
``type(v) in (A, B)`` compares ``type(v)`` with each entry by ``==``, and when ``type(v)``
is an instance of a metaclass that overrides ``__eq__``, Python tries the metaclass's
reflected ``__eq__`` first: host code, during a mere attribute read. The shapes here put a
hostile type where proxy.read_attribute tests descriptor types: the class of a data
descriptor, and an object stored under ``__dict__`` in a class.
Source: Python language reference, "Rich comparisons" (the reflected method of a subclass
is tried first) and ``PySequence_Contains``; issue 11 of this project."""

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

import safeprobe
from tests.adversarial.conftest import REFUSED

EXPOSE = {
    "service": {
        "target": "__main__:service",
        "allow": ["guarded_obj", "guarded_obj.*", "masked", "masked.*"],
    }
}

# A data descriptor whose class has a hostile metaclass: the "is it a C slot?" test.
DESCRIPTOR_TYPE = "print(service.guarded_obj.guarded)"
# The class stores a hostile object under __dict__: the "is it the C __dict__ slot?" test.
MASKED_DICT_READ = "print(service.masked.value)"
MASKED_DICT_RENDER = "print(service.masked)"


@pytest.mark.parametrize("probe", [DESCRIPTOR_TYPE, MASKED_DICT_READ, MASKED_DICT_RENDER])
def test_type_tests_never_call_a_host_metaclass(held, probe: str) -> None:
    """A descriptor or __dict__ entry of a hostile type is refused or ignored, and the
    host's call counter (in its digest) does not move."""
    held(probe, REFUSED | {"ok"}, expose=EXPOSE)


def _type_test_violations(tree: ast.AST) -> list[int]:
    """Lines where a type (``type(...)``, or a name bound to one in the same function) is
    compared by ``==``/``in``, or used as a key (``X[t]``, ``X.get(t)``)."""
    found: list[int] = []
    for scope in ast.walk(tree):
        if not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module | ast.Lambda):
            continue
        nodes = list(_own_nodes(scope))
        bound = {
            target.id
            for node in nodes
            if isinstance(node, ast.Assign) and _is_type_call(node.value)
            for target in node.targets
            if isinstance(target, ast.Name)
        }

        def is_type(node: ast.AST, names: set[str] = bound) -> bool:
            return _is_type_call(node) or (isinstance(node, ast.Name) and node.id in names)

        for node in nodes:
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                for op, left, right in zip(node.ops, operands[:-1], operands[1:], strict=True):
                    if isinstance(op, ast.In | ast.NotIn) and is_type(left):
                        found.append(node.lineno)
                    if isinstance(op, ast.Eq | ast.NotEq) and (is_type(left) or is_type(right)):
                        found.append(node.lineno)
            elif _is_type_key(node, is_type):
                found.append(node.lineno)
    return sorted(set(found))


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _own_nodes(scope: ast.AST) -> list[ast.AST]:
    """The nodes of one scope, not those of the functions nested in it (their own scopes)."""
    found: list[ast.AST] = []
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        found.append(node)
        if not isinstance(node, _SCOPES):
            stack.extend(ast.iter_child_nodes(node))
    return found


def _is_type_key(node: ast.AST, is_type: Callable[[ast.AST], bool]) -> bool:
    """``X[t]`` or ``X.get(t, ...)`` with a type as the key."""
    if isinstance(node, ast.Subscript):
        return is_type(node.slice)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and bool(node.args)
        and is_type(node.args[0])
    )


def _is_type_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "type"
        and len(node.args) == 1
    )


# The audit-side and operator-side modules never hold a host object; the rule is for
# everything a probe's values pass through, so the guard reads the whole package anyway.
PACKAGE = Path(safeprobe.__file__).parent


@pytest.mark.parametrize(
    "module", sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py"))
)
def test_package_type_tests_use_identity(module: str) -> None:
    """No module compares a type by ``==``/``in`` or looks one up as a key."""
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    assert _type_test_violations(tree) == [], module


@pytest.mark.parametrize(
    "source",
    [
        "def f(v):\n    return type(v) in (int, str)\n",
        "def f(v):\n    kind = type(v)\n    return kind not in {int}\n",
        "def f(v):\n    return TABLE.get(type(v))\n",
        "def f(v):\n    return TABLE[type(v)]\n",
        "def f(v):\n    return type(v) == int\n",
    ],
)
def test_the_guard_catches_each_forbidden_shape(source: str) -> None:
    """The guard itself can fail: every forbidden spelling is reported."""
    assert _type_test_violations(ast.parse(source)) == [2 if "kind" not in source else 3]
