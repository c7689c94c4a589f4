"""Which names each scope binds: the same answer as CPython's own symbol table."""

from __future__ import annotations

import ast
import symtable

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from safeprobe.probe.scopes import bind_scopes

_NAMES = st.sampled_from(["a", "b", "c", "f", "g"])
_EXPRESSIONS = st.one_of(
    _NAMES,
    st.builds(lambda n, m: f"[{n} for {m} in {n}]", _NAMES, _NAMES),
    st.builds(lambda n, m: f"[({n} := {m}) for {m} in {m}]", _NAMES, _NAMES),
    st.builds(lambda n, m: f"(lambda {n}: {m})", _NAMES, _NAMES),
    st.builds(lambda n, m: f"{{{n}: {m} for {n} in {m} if {n}}}", _NAMES, _NAMES),
)


def _statements(depth: int) -> st.SearchStrategy[str]:
    simple = st.one_of(
        st.builds(lambda n, e: f"{n} = {e}", _NAMES, _EXPRESSIONS),
        st.builds(lambda n, m, e: f"{n}, *{m} = {e}", _NAMES, _NAMES, _EXPRESSIONS),
        st.builds(lambda e: f"print({e})", _EXPRESSIONS),
        st.builds(lambda n, e: f"for {n} in {e}: pass", _NAMES, _EXPRESSIONS),
        st.builds(lambda n: f"try: pass\nexcept E as {n}: pass", _NAMES),
        st.builds(lambda e, n: f"with {e} as {n}: pass", _EXPRESSIONS, _NAMES),
    )
    if depth == 0:
        return simple
    body = st.lists(_statements(depth - 1), min_size=1, max_size=3)
    return st.one_of(
        simple,
        st.builds(
            lambda n, p, e, b: f"def {n}({p}, k={e}):\n" + _indent(b), _NAMES, _NAMES, _NAMES, body
        ),
        st.builds(lambda n, b: f"def {n}():\n    global {n}\n" + _indent(b), _NAMES, body),
    )


def _indent(lines: list[str]) -> str:
    return "".join("    " + line.replace("\n", "\n    ") + "\n" for line in lines)


def _symtable_bound(table: symtable.SymbolTable) -> set[str]:
    return {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_parameter()}


@settings(max_examples=300)
@given(st.lists(_statements(2), max_size=5).map("\n".join))
def test_module_and_function_bindings_match_the_symbol_table(source: str) -> None:
    """For generated probes, every def's and the module's bound names are CPython's."""
    tree = ast.parse(source)
    try:
        table = symtable.symtable(_oracle_source(source), "probe.py", "exec")
    except SyntaxError:
        assume(False)  # e.g. a walrus rebinding a comprehension's variable: Python refuses
    scopes = bind_scopes(tree)
    module_bound = {
        s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_namespace()
    }
    # The symbol table marks a module-level comprehension's walrus target global but not
    # assigned, though running it binds the module name: count those as Python does.
    module_bound |= _walrus_targets_outside_functions(tree)
    # Names a def declares global and assigns are the module's, as in Python.
    module_bound |= {
        s.get_name()
        for t in _walk(table)
        for s in t.get_symbols()
        if t.get_type() == "function" and s.is_declared_global() and s.is_assigned()
    }
    assert scopes[tree].bound == module_bound
    # The oracle's source is re-printed, so its line numbers differ: pair each def with its
    # table in source order (both walks are pre-order; lambdas and generators have other names).
    defs = _defs_in_order(tree)
    tables = [t for t in _walk(table) if t.get_type() == "function" and t.get_name() in _DEFS]
    assert [t.get_name() for t in tables] == [node.name for node in defs]
    for node, function in zip(defs, tables, strict=True):
        expected = _symtable_bound(function)
        assert scopes[node].bound == expected - scopes[node].declared_global


_DEFS = frozenset({"a", "b", "c", "f", "g"})  # the names _NAMES gives a def


class _NoInlining(ast.NodeTransformer):
    """list/set/dict comprehensions as the generator expressions they scope like.

    PEP 709 (Python 3.12) inlines list, set and dict comprehensions: the symbol table then
    lists their variables in the enclosing function, though no code outside the
    comprehension can see them. Generator expressions are not inlined, and bind exactly as
    a comprehension does (own scope, first iterable evaluated outside, walrus binding in
    the enclosing function), so this oracle gives the same answer on 3.11, 3.12 and 3.13.
    """

    def visit_ListComp(self, node: ast.ListComp) -> ast.AST:
        self.generic_visit(node)
        return _call("list", ast.GeneratorExp(node.elt, node.generators))

    def visit_SetComp(self, node: ast.SetComp) -> ast.AST:
        self.generic_visit(node)
        return _call("set", ast.GeneratorExp(node.elt, node.generators))

    def visit_DictComp(self, node: ast.DictComp) -> ast.AST:
        self.generic_visit(node)
        pair = ast.Tuple([node.key, node.value], ast.Load())
        return _call("dict", ast.GeneratorExp(pair, node.generators))


def _call(name: str, argument: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(name, ast.Load()), [argument], [])


def _oracle_source(source: str) -> str:
    return ast.unparse(ast.fix_missing_locations(_NoInlining().visit(ast.parse(source))))


def _defs_in_order(node: ast.AST) -> list[ast.FunctionDef]:
    found: list[ast.FunctionDef] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef):
            found.append(child)
        found.extend(_defs_in_order(child))
    return found


def _walrus_targets_outside_functions(tree: ast.Module) -> set[str]:
    targets: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.NamedExpr):
            targets.add(node.target.id)
        stack.extend(ast.iter_child_nodes(node))
    return targets


def _walk(table: symtable.SymbolTable) -> list[symtable.SymbolTable]:
    tables = [table]
    for child in table.get_children():
        tables.extend(_walk(child))
    return tables


def test_a_lookup_reaches_enclosing_functions_but_not_other_functions() -> None:
    """Closures see their enclosing function's names; siblings see nothing of each other."""
    tree = ast.parse(
        "def outer():\n    v = 1\n    def inner():\n        return v\ndef other():\n    return v\n"
    )
    scopes = bind_scopes(tree)
    inner = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "inner")
    other = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "other")
    assert scopes[inner].binds("v")
    assert not scopes[other].binds("v")
    assert not scopes[tree].binds("v")
