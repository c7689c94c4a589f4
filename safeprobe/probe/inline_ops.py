"""Operators the compiler emits inline for exact builtin scalars.

Promise: an inlined operation runs natively only when an identity test of each operand's
exact type (``type(x) is int``, never ``isinstance``, never a comparison of the two types)
shows it cannot allocate unboundedly, and otherwise takes the guarded path RestrictedPython
gives it, with the operands evaluated once, in Python's order. Today one: ``n += v`` of two
exact ints, the counter and the total of a probe loop, whose sum is at most one bit longer
than the longer operand. Not inlined, on purpose: ``str``/``bytes``/``list`` ``+`` and every
``*`` (``s * n`` builds n copies: sandbox.binop checks its size). Pure. Threat model:
SECURITY.md, "Memory".
"""

from __future__ import annotations

import ast
from typing import Final

# The compiler-only locals an inlined ``+=`` evaluates its operands into (a probe cannot
# name them: the compiler refuses names starting with "_").
_LEFT: Final = "_sp_left"
_RIGHT: Final = "_sp_right"
# RestrictedPython's ``_inplacevar_(op, target, value)`` call has three arguments.
_INPLACE_ARGS: Final = 3


def inline_add(assignment: ast.Assign, where: ast.AST) -> ast.AST | list[ast.stmt]:
    """``n = _inplacevar_("+=", n, v)`` (RestrictedPython's ``n += v``) as
    ``_sp_left = n; _sp_right = v; n = _sp_left + _sp_right if both are exact ints else
    _inplacevar_("+=", _sp_left, _sp_right)``; any other shape as it is. The Sandbox binds
    ``_type_`` to ``type`` and ``_int_`` to ``int``."""
    call = assignment.value
    if not (
        isinstance(call, ast.Call)
        and len(call.args) == _INPLACE_ARGS
        and len(assignment.targets) == 1
        and isinstance(assignment.targets[0], ast.Name)
    ):
        return assignment
    target = assignment.targets[0].id
    _symbol, current, value = call.args
    both_ints = ast.BoolOp(op=ast.And(), values=[_is_exact_int(_LEFT), _is_exact_int(_RIGHT)])
    added = ast.BinOp(left=_load(_LEFT), op=ast.Add(), right=_load(_RIGHT))
    fallback = ast.Call(
        func=_load("_inplacevar_"),
        args=[ast.Constant("+="), _load(_LEFT), _load(_RIGHT)],
        keywords=[],
    )
    statements: list[ast.stmt] = [
        ast.Assign(targets=[ast.Name(_LEFT, ast.Store())], value=current),
        ast.Assign(targets=[ast.Name(_RIGHT, ast.Store())], value=value),
        ast.Assign(
            targets=[ast.Name(target, ast.Store())],
            value=ast.IfExp(test=both_ints, body=added, orelse=fallback),
        ),
    ]
    for statement in statements:
        ast.copy_location(statement, where)
        ast.fix_missing_locations(statement)
    return statements


def _is_exact_int(name: str) -> ast.expr:
    """``_type_(name) is _int_``: an int subclass, a bool or a view fails it."""
    exact_type = ast.Call(func=_load("_type_"), args=[_load(name)], keywords=[])
    return ast.Compare(left=exact_type, ops=[ast.Is()], comparators=[_load("_int_")])


def _load(name: str) -> ast.Name:
    return ast.Name(name, ast.Load())
