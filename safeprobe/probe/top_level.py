"""A probe's top level, compiled as the body of a function.

Promise: the transformed probe runs with the same meaning as the module it was, but its
top-level names are fast locals instead of lookups in the namespace dict (a loop's
counters, its loop variables, the names it unpacks into). Same meaning: each local starts
bound to what the namespace or its builtins hold under that name when the probe starts (so
``threads = sorted(threads)`` still reads the exposure), names a nested function declares
``global`` and the probe's own ``def`` names stay globals (``execute`` is found in the
namespace), and when the top level ends, however it ends, its locals are copied into the
namespace, where a module's names would be. One difference: reading a name the top level
binds (and never deletes) but has not bound yet raises UnboundLocalError, a NameError. A
``return`` at the top level stays an error. The code this emits reads and writes only the
namespace dict, with constant keys, through three names a probe cannot write
(``_globals_``, ``_locals_`` and ``_export_``: names starting with ``_``
are refused by the compiler). Pure.
"""

from __future__ import annotations

import ast
import re
import types
from typing import Final

from safeprobe.probe.scopes import bind_scopes

# The function the top level becomes, and its compiler-only locals.
BODY_NAME: Final = "_probe_top_level_"
_NAMESPACE: Final = "_sp_namespace"
_PREBOUND: Final = "_sp_prebound"
_OPENERS: Final = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


# CPython 3.11-3.13's words for a fast local read before it is bound.
_UNBOUND_WORDS: Final = re.compile(r"^cannot access local variable '(\w+)' where")


def unbound_top_level_name(exc: BaseException) -> str | None:
    """The name, when ``exc`` is the UnboundLocalError the top level raises for a name it
    reads before binding it (a module would raise NameError there); None for anything else,
    an UnboundLocalError in a probe's own function included (plain Python raises that too)."""
    if type(exc) is not UnboundLocalError:
        return None
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None or tb.tb_frame.f_code.co_name != BODY_NAME:
        return None
    found = _UNBOUND_WORDS.match(str(exc.args[0]) if len(exc.args) == 1 else "")
    return found.group(1) if found else None


def without_top_level_prefix(code: types.CodeType) -> types.CodeType:
    """``code`` with every nested code object's qualified name as a module's would be
    (``f``, ``<lambda>``, ``g.<locals>.h``), not under the top level's function: a probe's
    function prints, and CPython words its call errors, by that name, which must not show
    safeprobe's internals."""
    prefix = f"{BODY_NAME}.<locals>."
    consts = tuple(
        without_top_level_prefix(c) if type(c) is types.CodeType else c for c in code.co_consts
    )
    qualname = code.co_qualname.removeprefix(prefix)
    return code.replace(co_consts=consts, co_qualname=qualname)


def code_names(code: types.CodeType) -> frozenset[str]:
    """Every global or attribute name the code of a compiled probe uses, its functions'
    included (the top level is one of them): what the compiler made each construct call."""
    names: set[str] = set()
    stack = [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        stack.extend(c for c in current.co_consts if type(c) is types.CodeType)
    return frozenset(names)


def top_level_returns(tree: ast.Module) -> list[ast.Return]:
    """``return`` statements outside any function: an error at a module's top level, which
    the function body would otherwise accept."""
    found: list[ast.Return] = []
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return):
            found.append(node)
        if not isinstance(node, _OPENERS):
            stack.extend(ast.iter_child_nodes(node))
    return found


def plan_top_level(tree: ast.Module) -> tuple[list[str], list[str]]:
    """The names the top level's function keeps global and those it makes local, from the
    untransformed tree: its ``def`` names, every name any scope declares ``global`` and
    every name the top level deletes (``del NAME``, or ``except ... as NAME``, which deletes
    NAME at the handler's end) stay global, so a read after the deletion falls back to the
    builtins as a module's does; the rest of what the top level binds is local."""
    module = bind_scopes(tree)[tree]
    kept: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            kept.update(node.names)
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            kept.add(node.name)
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Del):
            kept.add(node.id)
        if isinstance(node, ast.ExceptHandler) and node.name is not None:
            kept.add(node.name)
        if not isinstance(node, _OPENERS):
            stack.extend(ast.iter_child_nodes(node))
    local = sorted(name for name in module.bound if name not in kept)
    return sorted(kept), local


def as_function(tree: ast.Module, kept: list[str], local: list[str]) -> ast.Module:
    """The transformed module ``tree``, changed in place to ``def _probe_top_level_(): …``
    and a call of it.

    The body starts by binding each local to the namespace's or builtins' value of its
    name, if any (``_globals_`` is the builtin ``globals``), and ends, in a ``finally``,
    by copying its locals into the namespace (``_export_``)."""
    body = [_drop_global(statement) for statement in tree.body]
    prologue: list[ast.stmt] = []
    if kept:
        prologue.append(ast.Global(names=list(kept)))
    prologue.append(_assign(_NAMESPACE, _call("_globals_")))
    if local:
        names = ast.Tuple(elts=[ast.Constant(name) for name in local], ctx=ast.Load())
        prologue.append(_assign(_PREBOUND, _call("_prebound_", _load(_NAMESPACE), names)))
        prologue.extend(_bind_if_prebound(name) for name in local)
    export = ast.Expr(_call("_export_", _load(_NAMESPACE), _call("_locals_")))
    guarded = ast.Try(body=body or [ast.Pass()], handlers=[], orelse=[], finalbody=[export])
    function = ast.FunctionDef(
        name=BODY_NAME,
        args=ast.arguments(
            posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], defaults=[]
        ),
        body=[*prologue, guarded],
        decorator_list=[],
        returns=None,
    )
    call = ast.Expr(_call(BODY_NAME))
    for node in (function, call, *prologue, guarded, export):
        node.lineno = node.end_lineno = 1
        node.col_offset = node.end_col_offset = 0
    # In place: RestrictedPython compiles the tree it gave its transformer, not the result.
    tree.body = [function, call]
    return ast.fix_missing_locations(tree)


def _drop_global(statement: ast.stmt) -> ast.stmt:
    """A top-level ``global`` statement is the function's own declaration now (a function
    may not declare a name global after using it, as a module may)."""
    stack: list[ast.AST] = [] if isinstance(statement, _OPENERS) else [statement]
    while stack:
        node = stack.pop()
        for _field, value in ast.iter_fields(node):
            if isinstance(value, list):
                value[:] = [
                    ast.copy_location(ast.Pass(), item) if isinstance(item, ast.Global) else item
                    for item in value
                ]
                stack.extend(
                    item
                    for item in value
                    if isinstance(item, ast.AST) and not isinstance(item, _OPENERS)
                )
            elif isinstance(value, ast.AST) and not isinstance(value, _OPENERS):
                stack.append(value)
    if isinstance(statement, ast.Global):
        return ast.copy_location(ast.Pass(), statement)
    return statement


def _bind_if_prebound(name: str) -> ast.stmt:
    test = ast.Compare(left=ast.Constant(name), ops=[ast.In()], comparators=[_load(_PREBOUND)])
    value = ast.Subscript(value=_load(_PREBOUND), slice=ast.Constant(name), ctx=ast.Load())
    return ast.If(test=test, body=[_assign(name, value)], orelse=[])


def _assign(name: str, value: ast.expr) -> ast.stmt:
    return ast.Assign(targets=[ast.Name(name, ast.Store())], value=value)


def _load(name: str) -> ast.expr:
    return ast.Name(name, ast.Load())


def _call(name: str, *args: ast.expr) -> ast.expr:
    return ast.Call(func=_load(name), args=list(args), keywords=[])


def prebound(namespace: dict[str, object], names: tuple[str, ...]) -> dict[str, object]:
    """What each of ``names`` (the probe's top-level names, exact str constants of the
    compiled code) is bound to when the probe starts: in the namespace, else its builtins."""
    builtins = namespace.get("__builtins__")
    found: dict[str, object] = {}
    for name in names:
        if name in namespace:
            found[name] = namespace[name]
        elif type(builtins) is dict and name in builtins:
            found[name] = builtins[name]
    return found


def export_locals(namespace: dict[str, object], local: dict[str, object]) -> None:
    """The top level's locals into the namespace when it ends, as a module's names would
    be; the compiler's own (a leading "_") stay out."""
    namespace.update({k: v for k, v in local.items() if not k.startswith("_")})
