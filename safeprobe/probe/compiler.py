"""Restricted compilation of probes.

Promise: a probe becomes a code object only through RestrictedPython's
``compile_restricted_exec`` with our transformer on top; if that fails in any way (including
RecursionError or MemoryError inside the compiler), the probe is refused, never compiled
another way. Our transformer adds, beyond RestrictedPython:

* step ticks at every ``while`` head, function entry (with call depth) and lambda body, so
  the budget in limits.py can stop pure-Python work deterministically;
* guarded operators for the ones that allocate in one C call (``+``, ``*``, ``**``, ``<<``, ``%``);
* f-string fields routed through the sandbox's renderer, so no host ``__format__`` runs;
* every starred value (``[*x]``, ``f(*x)``) walked by the guarded iterator under the cap;
* every value about to be hashed as a key (dict and set displays and comprehensions,
  subscripts, the left of ``in``) passed through ``_key_``, which refuses tuples nested
  deep enough to overflow the C stack in CPython's unguarded tuple hash (gh-154318);
* every comparison (``== != < <= > >= in not in``, chains kept lazy) through the guards of
  comparison.py, which bound the cost of its one C call before it runs, unless a literal
  operand bounds it already;
* refusals, with the line, for imports, class definitions, generators (``yield``) and the
  ``printed`` name;
* the top level compiled as the body of a function (top_level.py), so its names are fast
  locals, and ``n += v`` of two exact ints added inline (inline_ops.py).

Compiling is bounded too, because the attempt's timeout covers it: ``ast.parse`` and
``compile`` are single C calls no deadline can interrupt, so the size caps bound them
(``probe.max_size`` the parse, ``MAX_PROBE_NODES`` and ``MAX_PROBE_SCOPES`` the compile);
the Python parts (counting the tree, RestrictedPython's transformer and ours) check the
attempt's deadline every few hundred nodes and stop with ``ProbeCompileTimeout``.

Compiled code is cached by (path, sha256), so an unchanged probe costs nothing to reuse.
Threat model: SECURITY.md, "Code" and "Time".
"""

from __future__ import annotations

import ast
import re
import threading
import time
import types
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final, cast

from RestrictedPython.compile import compile_restricted_exec
from RestrictedPython.transformer import RestrictingNodeTransformer

from safeprobe.errors import ProbeCompileError, ProbeCompileTimeout
from safeprobe.probe.inline_ops import inline_add
from safeprobe.probe.top_level import (
    as_function,
    plan_top_level,
    top_level_returns,
    without_top_level_prefix,
)

# Operators that can allocate or compute a huge value in one C call. "+" is here because
# ``s = s + s`` in a loop doubles a string per step: 30 steps are a gigabyte.
# Keyed by the id of the operator's class: type tests are by identity everywhere (SECURITY.md,
# "Host code"), even where, as here, the types are the ast module's own.
_GUARDED_BINOPS: Final[dict[int, str]] = {
    id(ast.Add): "+",
    id(ast.Mult): "*",
    id(ast.Pow): "**",
    id(ast.LShift): "<<",
    id(ast.Mod): "%",
    # Fraction division builds integers as long as both operands' (value_access.py).
    id(ast.Div): "/",
    id(ast.FloorDiv): "//",
}

_LINE_PREFIX: Final = re.compile(r"^Line (\d+): ")
_CACHE_SIZE: Final = 64

# Syntax nodes a probe may have. A real probe is a page: the examples have 10-150 nodes,
# and 400 lines of dense code about 5,000. The cap bounds the C call ``compile`` makes of
# the transformed tree (which our guards grow 1-4x), which no deadline can interrupt in a
# thread. Measured here (2 shared cores, the test suite running on the other): at 10,000
# nodes the worst shapes (f-strings, ``in`` chains, attribute chains) took 100-120 ms in
# that one C call; 5,000 nodes keep it near 60 ms, well inside the timeout's 100 ms of
# slack. The Python transformer before it checks the deadline as it goes.
MAX_PROBE_NODES: Final = 5_000
# Functions, lambdas and comprehensions: each is a code object, and CPython's compile is
# quadratic in the code objects of one scope (measured here: 500 lambdas 17 ms, 1,000
# lambdas 55 ms, 2,000 lambdas 180-240 ms). A probe that needs 200 functions is not a probe.
MAX_PROBE_SCOPES: Final = 200
# The Python passes over the tree look at the clock once per this many nodes: at the
# transformer's ~10-30 us per node that is a check every few milliseconds.
_DEADLINE_EVERY_NODES: Final = 256
_SCOPE_TYPE_IDS: Final = frozenset(
    id(kind)
    for kind in (
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.Lambda,
        ast.ListComp,
        ast.SetComp,
        ast.DictComp,
        ast.GeneratorExp,
    )
)


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])


def _stmt_call(name: str, node: ast.AST) -> ast.Expr:
    stmt = ast.Expr(_call(name))
    ast.copy_location(stmt, node)
    return ast.fix_missing_locations(stmt)


class ProbeTransformer(RestrictingNodeTransformer):
    """RestrictedPython's transformer plus our ticks, operator guards and refusals."""

    def visit_Module(self, node: ast.Module) -> ast.AST:
        # The top level runs as a function (top_level.py): planned on the tree as written,
        # wrapped once RestrictedPython's rules and ours have transformed it.
        for stray in top_level_returns(node):
            self.error(stray, "SyntaxError: 'return' outside function")
        kept, local = plan_top_level(node)
        result = cast(ast.Module, super().visit_Module(node))
        if self.errors:
            return result
        return as_function(result, kept, local)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST | list[ast.stmt]:
        # RestrictedPython's ``n = _inplacevar_("+=", n, v)``, with ``+`` of two exact ints
        # inlined (inline_ops.py): a probe loop's counter and total.
        result = super().visit_AugAssign(node)
        if isinstance(node.op, ast.Add) and isinstance(result, ast.Assign):
            return inline_add(result, node)
        return cast(ast.AST, result)

    def visit_Import(self, node: ast.Import) -> ast.AST:
        self.error(node, "imports are not allowed in probes")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        self.error(node, "imports are not allowed in probes")
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "class definitions are not allowed in probes")
        return node

    def visit_Yield(self, node: ast.Yield) -> ast.AST:
        # A generator's ``finally`` can run later, from the garbage collector, in a host
        # thread and after the attempt is over; probes do not need generators.
        self.error(node, "generators (yield) are not allowed in probes")
        return node

    def visit_YieldFrom(self, node: ast.YieldFrom) -> ast.AST:
        self.error(node, "generators (yield from) are not allowed in probes")
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id == "printed":
            self.error(node, '"printed" is not available in probes; print() writes the output')
            return node
        return cast(ast.AST, super().visit_Name(node))

    def visit_While(self, node: ast.While) -> ast.AST:
        visited = self.node_contents_visit(node)
        visited.body.insert(0, _stmt_call("_tick_", visited))
        return visited

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        result = super().visit_FunctionDef(node)
        assert isinstance(result, ast.FunctionDef)
        leave = _stmt_call("_leave_", result)
        guarded = ast.Try(body=result.body, handlers=[], orelse=[], finalbody=[leave])
        ast.copy_location(guarded, result)
        result.body = [_stmt_call("_enter_", result), guarded]
        ast.fix_missing_locations(result)
        return result

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        result = super().visit_Lambda(node)
        assert isinstance(result, ast.Lambda)
        # ``_tick_() or body``: the tick returns None, so the body is the value.
        result.body = ast.BoolOp(op=ast.Or(), values=[_call("_tick_"), result.body])
        ast.copy_location(result.body, node)
        ast.fix_missing_locations(result)
        return result

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        result = super().visit_BinOp(node)
        assert isinstance(result, ast.BinOp)
        symbol = _GUARDED_BINOPS.get(id(type(result.op)))
        if symbol is None:
            return _guarded_set_operation(result)
        call = _call("_binop_", ast.Constant(symbol), result.left, result.right)
        ast.copy_location(call, node)
        return ast.fix_missing_locations(call)

    # -- keys: CPython hashes a tuple recursively in C with no depth guard (gh-154318), so
    # -- a probe-built tuple nested 150,000 deep kills the host when used as a key.

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        result = cast(ast.Dict, super().visit_Dict(node))
        result.keys = [None if k is None else _key(k) for k in result.keys]
        # ``{**a, **b}`` merges b's table into a copy of a's in one C call, each of b's
        # keys compared with a's keys of its hash: checked by its hash groups first.
        result.values = [
            _key_call("_table_", v) if k is None else v
            for k, v in zip(result.keys, result.values, strict=True)
        ]
        return result

    def visit_Set(self, node: ast.Set) -> ast.AST:
        result = cast(ast.Set, super().visit_Set(node))
        result.elts = [_key(e) for e in result.elts]
        return result

    def visit_SetComp(self, node: ast.SetComp) -> ast.AST:
        result = cast(ast.SetComp, super().visit_SetComp(node))
        result.elt = _key(result.elt)
        return result

    def visit_DictComp(self, node: ast.DictComp) -> ast.AST:
        result = cast(ast.DictComp, super().visit_DictComp(node))
        result.key = _key(result.key)
        return result

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        # One comparison can walk an aliased structure for seconds in C (comparison.py), so
        # each goes through a guard that checks its cost first, unless its operands bound it.
        result = cast(ast.Compare, super().visit_Compare(node))
        if len(result.ops) == 1:
            guarded = _guarded_compare(result.left, result.ops[0], result.comparators[0])
        else:
            guarded = _guarded_chain(result)
        ast.copy_location(guarded, node)
        return ast.fix_missing_locations(guarded)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        # A load becomes _getitem_(), which checks the key itself; a store or del keeps the
        # subscript, so its key is wrapped here (not a slice: that is no expression).
        result = cast(ast.AST, super().visit_Subscript(node))
        if isinstance(result, ast.Subscript) and not _has_slice(result.slice):
            result.slice = _key(result.slice)
        return result

    def visit_Starred(self, node: ast.Starred) -> ast.AST:
        # ``[*x]``, ``f(*x)``, ``print(*x)`` iterate x in C: through _star_ it is walked by
        # the guarded, ticking iterator under the item cap. Targets (``a, *b = x``) are not.
        result = cast(ast.Starred, super().visit_Starred(node))
        if isinstance(result.ctx, ast.Load):
            result.value = _key_call("_star_", result.value)
        return result

    def visit_keyword(self, node: ast.keyword) -> ast.AST:
        # ``f(**d)`` copies d into a new dict in C, and again at each wrapper the call
        # passes through (_apply_, a builtin's): through _kwargs_ the copies are charged
        # before the call is made.
        result = cast(ast.keyword, super().visit_keyword(node))
        if result.arg is None:
            result.value = _key_call("_kwargs_", result.value)
        return result

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        result = super().visit_FormattedValue(node)
        assert isinstance(result, ast.FormattedValue)
        spec: ast.expr = result.format_spec or ast.Constant("")
        call = _call("_format_", result.value, ast.Constant(result.conversion), spec)
        ast.copy_location(call, node)
        new = ast.FormattedValue(value=call, conversion=-1, format_spec=None)
        ast.copy_location(new, node)
        return ast.fix_missing_locations(new)


# The guard each comparison operator calls (Sandbox globals from comparison.py); ``is``
# and ``is not`` compare identities and need none. Keyed by id, like _GUARDED_BINOPS.
_COMPARE_GUARDS: Final[dict[int, str]] = {
    id(ast.Eq): "_eq_",
    id(ast.NotEq): "_ne_",
    id(ast.Lt): "_lt_",
    id(ast.LtE): "_le_",
    id(ast.Gt): "_gt_",
    id(ast.GtE): "_ge_",
    id(ast.In): "_in_",
    id(ast.NotIn): "_not_in_",
}
_COMPARE_SYMBOLS: Final[dict[int, str]] = {
    id(ast.Eq): "==",
    id(ast.NotEq): "!=",
    id(ast.Lt): "<",
    id(ast.LtE): "<=",
    id(ast.Gt): ">",
    id(ast.GtE): ">=",
    id(ast.In): "in",
    id(ast.NotIn): "not in",
    id(ast.Is): "is",
    id(ast.IsNot): "is not",
}


# Set (and dict) operators look every item of one operand up in the other, comparing equal
# keys in the same C call: routed to comparison.py's guards (ints pass straight through).
_SET_OPERATION_GUARDS: Final[dict[int, str]] = {
    id(ast.BitOr): "_or_",
    id(ast.BitAnd): "_and_",
    id(ast.Sub): "_sub_",
    id(ast.BitXor): "_xor_",
}


def _guarded_set_operation(node: ast.BinOp) -> ast.expr:
    guard = _SET_OPERATION_GUARDS.get(id(type(node.op)))
    if guard is None or isinstance(node.left, ast.Constant) or isinstance(node.right, ast.Constant):
        return node  # a literal operand is a number: nothing to look up
    call = _call(guard, node.left, node.right)
    ast.copy_location(call, node)
    return ast.fix_missing_locations(call)


def _guarded_compare(left: ast.expr, op: ast.cmpop, right: ast.expr) -> ast.expr:
    """``left op right`` through its guard, or as it is when the source bounds its cost: a
    literal on either side of ``==``/``<`` …, or ``in`` a display of literals."""
    native = ast.Compare(left=left, ops=[op], comparators=[right])
    guard = _COMPARE_GUARDS.get(id(type(op)))
    if guard is None:
        return native  # is, is not
    membership = isinstance(op, (ast.In, ast.NotIn))
    if not membership and (isinstance(left, ast.Constant) or isinstance(right, ast.Constant)):
        return native
    if membership and _is_literal(right):
        if isinstance(right, ast.Set):  # hashed: the item is checked as a key
            native.left = _key(left)
        return native
    return _call(guard, left, right)


def _guarded_chain(node: ast.Compare) -> ast.expr:
    """``a < b < c`` as ``_link_("<", a, b) and _link_("<", _held_(), c)``: the same order of
    evaluation, each operand evaluated once (the link keeps its right operand for the next
    one, which takes it back before evaluating its own), and the same short-circuit and
    value (``and`` returns the first false result, as a chain does)."""
    if all(isinstance(middle, (ast.Name, ast.Constant)) for middle in node.comparators[:-1]):
        # ``0 <= i < n``: a name or literal in the middle can be read twice with no change
        # (comparing probe values runs no probe code), so each link is a plain comparison,
        # with the literal fast path of _guarded_compare.
        operands = [node.left, *node.comparators]
        pairs = [
            _guarded_compare(_reread(operands[i]) if i else operands[i], op, operands[i + 1])
            for i, op in enumerate(node.ops)
        ]
        return ast.BoolOp(op=ast.And(), values=pairs)
    links: list[ast.expr] = []
    left = node.left
    for op, right in zip(node.ops, node.comparators, strict=True):
        links.append(_call("_link_", ast.Constant(_COMPARE_SYMBOLS[id(type(op))]), left, right))
        left = _call("_held_")
    return ast.BoolOp(op=ast.And(), values=links)


def _reread(node: ast.expr) -> ast.expr:
    """A second load of a name or literal, as its own node."""
    if isinstance(node, ast.Name):
        return ast.copy_location(ast.Name(id=node.id, ctx=ast.Load()), node)
    return ast.copy_location(ast.Constant(value=cast(ast.Constant, node).value), node)


def _is_literal(node: ast.expr) -> bool:
    """A constant, or a tuple, list or set display of constants: its walk is bounded by the
    probe's source."""
    if isinstance(node, ast.Constant):
        return True
    return isinstance(node, (ast.Tuple, ast.List, ast.Set)) and all(
        isinstance(e, ast.Constant) for e in node.elts
    )


def _has_slice(node: ast.expr) -> bool:
    if isinstance(node, ast.Slice):
        return True
    return isinstance(node, ast.Tuple) and any(isinstance(e, ast.Slice) for e in node.elts)


def _key(node: ast.expr) -> ast.expr:
    """Wrap an expression about to be hashed; a starred one has each of its items checked."""
    if isinstance(node, ast.Starred):
        node.value = _key_call("_keys_", node.value)
        return node
    return _key_call("_key_", node)


def _key_call(name: str, node: ast.expr) -> ast.expr:
    call = _call(name, node)
    ast.copy_location(call, node)
    return ast.fix_missing_locations(call)


def compile_probe(
    source: str,
    *,
    path: str,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> types.CodeType:
    """Compile a probe or raise ProbeCompileError naming the first bad line.

    With a ``deadline`` (a ``clock()`` value), the Python parts of compiling stop with
    ProbeCompileTimeout once it has passed; the C parts are bounded by the size caps.
    """
    code, errors = _compile(source, path=path, check=_deadline_check(deadline, clock, path))
    if errors:
        raise errors[0]
    assert code is not None
    return code


def probe_compile_errors(source: str, *, path: str) -> tuple[ProbeCompileError, ...]:
    """Every error the compiler refuses ``source`` for, in order; empty when it compiles.

    The same compilation as compile_probe (whose error is the first of these), so a check
    before deployment (``safeprobe lint``) and the host can never disagree.
    """
    return _compile(source, path=path, check=None)[1]


def _deadline_check(
    deadline: float | None, clock: Callable[[], float], path: str
) -> Callable[[], None] | None:
    if deadline is None:
        return None

    def check() -> None:
        if clock() > deadline:
            raise ProbeCompileTimeout(path)

    return check


def _compile(
    source: str, *, path: str, check: Callable[[], None] | None
) -> tuple[types.CodeType | None, tuple[ProbeCompileError, ...]]:
    try:
        # One C call, bounded only by the file's size (probe.max_size): ~3 ms per KiB of
        # the densest shapes here, so the default 32 KiB parses in ~100 ms.
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        return None, (_syntax_error(path, exc),)
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        return None, (ProbeCompileError(path, None, f"compiler failed: {type(exc).__name__}"),)
    too_big = _check_size(tree, path, check)
    if too_big is not None:
        return None, (too_big,)
    if check is not None:
        check()
    try:
        result = compile_restricted_exec(
            tree,
            filename=path,
            policy=ProbeTransformer if check is None else _with_deadline(check),
        )
    except SyntaxError as exc:
        return None, (ProbeCompileError(path, exc.lineno, f"SyntaxError: {exc.msg}"),)
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        # The compiler itself gave up (deep nesting, NUL bytes …): refuse, never fall back.
        return None, (ProbeCompileError(path, None, f"compiler failed: {type(exc).__name__}"),)
    if result.errors or result.code is None:
        return None, tuple(_error(path, text) for text in result.errors or ["no code produced"])
    return without_top_level_prefix(result.code), ()


def _syntax_error(path: str, exc: SyntaxError) -> ProbeCompileError:
    """The parse's error, worded as RestrictedPython words it when it parses itself."""
    statement = exc.text.strip() if exc.text else None
    problem = f"SyntaxError: {exc.msg} at statement: {statement!r}"
    return ProbeCompileError(path, exc.lineno, problem)


def _check_size(
    tree: ast.AST, path: str, check: Callable[[], None] | None
) -> ProbeCompileError | None:
    """Refuse a tree over the node or scope caps before anything slow runs over it."""
    scopes = 0
    for nodes, node in enumerate(ast.walk(tree), start=1):
        if id(type(node)) in _SCOPE_TYPE_IDS:
            scopes += 1
        if nodes % _DEADLINE_EVERY_NODES == 0 and check is not None:
            check()
        if nodes > MAX_PROBE_NODES:
            problem = f"size: more than {MAX_PROBE_NODES} syntax nodes (a fixed cap: a probe"
            return ProbeCompileError(path, None, problem + " is a short script)")
    if scopes > MAX_PROBE_SCOPES:
        problem = f"size: {scopes} functions, lambdas and comprehensions"
        return ProbeCompileError(path, None, problem + f", over the fixed {MAX_PROBE_SCOPES} cap")
    return None


def _with_deadline(check: Callable[[], None]) -> type[ProbeTransformer]:
    """Our transformer, looking at the deadline every few hundred nodes it visits.

    RestrictedPython instantiates the class it is given, so the deadline comes in the class.
    ``visit`` is the dispatcher every node passes through; the visit_* rules are untouched.
    """

    class DeadlineTransformer(ProbeTransformer):
        visited = 0

        def visit(self, node: ast.AST) -> Any:  # NodeVisitor.visit's own return type
            self.visited += 1
            if self.visited % _DEADLINE_EVERY_NODES == 0:
                check()
            return super().visit(node)

    return DeadlineTransformer


def _error(path: str, text: str) -> ProbeCompileError:
    match = _LINE_PREFIX.match(text)
    line = int(match.group(1)) if match else None
    message = _LINE_PREFIX.sub("", text)
    private = _PRIVATE_NAME.search(message)
    if private is not None and private.group(1) in PRIVATE_NAME_HINTS:
        message += f" ({PRIVATE_NAME_HINTS[private.group(1)]})"
    return ProbeCompileError(path, line, message)


# What to use instead of the builtins a probe does not have (lint and the runtime say it).
BUILTIN_HINTS: Final = {
    "getattr": "read attributes with a dot (obj.name); the policy's allow list decides",
    "setattr": "probes cannot write to host objects",
    "delattr": "probes cannot write to host objects",
    "type": "use typename(value) for its name, or isinstance(value, int) and the like",
    "vars": "print(obj) shows the attributes the policy allows",
    "dir": "print(obj) shows the attributes the policy allows",
    "open": "probes do no I/O; expose the data through the policy instead",
    "input": "probes do no I/O; expose the data through the policy instead",
    "eval": "probes cannot make code",
    "exec": "probes cannot make code",
    "compile": "probes cannot make code",
    "iter": "use a for loop",
    "next": "use a for loop",
    "format": "use an f-string",
}

# What to type instead of the private names people reach for first.
PRIVATE_NAME_HINTS: Final = {
    "__name__": "use typename(x) for the name of x's type",
    "__class__": "use typename(x), or isinstance(x, T)",
    "__dict__": "print(x) shows the attributes the policy allows",
    "_asdict": "use asdict(x) for a named tuple's or dataclass's fields as a dict",
    "_fields": "use list(asdict(x)) for a named tuple's field names",
}
_PRIVATE_NAME: Final = re.compile(r'^"(\w+)" is an invalid (?:attribute|variable) name')


class CodeCache:
    """Compiled probes by (path, sha256); compiling the same bytes twice gives the same code."""

    def __init__(self, max_entries: int = _CACHE_SIZE) -> None:
        self._entries: OrderedDict[tuple[str, str], types.CodeType] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, *, path: str, sha256: str) -> types.CodeType | None:
        """The cached code of these bytes, or None."""
        key = (path, sha256)
        with self._lock:
            code = self._entries.get(key)
            if code is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            return code

    def get_or_compile(
        self,
        source: str,
        *,
        path: str,
        sha256: str,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> types.CodeType:
        key = (path, sha256)
        code = self.get(path=path, sha256=sha256)
        if code is not None:
            return code
        code = compile_probe(source, path=path, deadline=deadline, clock=clock)
        with self._lock:
            self.misses += 1
            self._entries[key] = code
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return code
