"""Which names a probe binds, scope by scope, by Python's own rules.

Promise: ``bind_scopes`` says, for every module, function, lambda and comprehension of a
parsed probe, which names it binds, so that a name lookup can be answered without running
anything: defaults, decorators and a comprehension's first iterable are evaluated in the
enclosing scope, an assignment expression in a comprehension binds in the nearest function
or module, and ``global`` sends a binding to the module. Constructs the compiler refuses
(imports, classes, ``nonlocal``, ``match``) still bind, so their uses are reported once, by
the compiler. Pure. Used by lint.py.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field


def bind_scopes(tree: ast.Module) -> dict[ast.AST, Scope]:
    """The scope each scope-opening node (and the module) opens, with its bindings."""
    binder = _Binder()
    binder.visit(tree)
    return binder.scopes


@dataclass(slots=True)
class Scope:
    """Names bound in one Python scope (module, function, lambda or comprehension)."""

    parent: Scope | None
    is_comprehension: bool = False
    bound: set[str] = field(default_factory=set)
    declared_global: set[str] = field(default_factory=set)

    def bind(self, name: str) -> None:
        if name in self.declared_global:
            self.module().bound.add(name)
        else:
            self.bound.add(name)

    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def binds(self, name: str) -> bool:
        """Whether a lookup of ``name`` here can find a binding the probe makes."""
        scope: Scope | None = self.module() if name in self.declared_global else self
        while scope is not None:
            if name in scope.bound:
                return True
            scope = scope.parent
        return False


class _Binder(ast.NodeVisitor):
    """First pass: which names each scope binds, keyed by the node that opens the scope.

    Mirrors Python's rules: defaults, decorators and a comprehension's first iterable
    belong to the enclosing scope; an assignment expression in a comprehension binds in
    the nearest enclosing function or module.
    """

    def __init__(self) -> None:
        self.scopes: dict[ast.AST, Scope] = {}
        self.scope = Scope(parent=None)

    def _open(self, node: ast.AST, *, comprehension: bool = False) -> Scope:
        scope = Scope(parent=self.scope, is_comprehension=comprehension)
        self.scopes[node] = scope
        return scope

    def _within(self, scope: Scope, nodes: Sequence[ast.AST]) -> None:
        outer, self.scope = self.scope, scope
        for node in nodes:
            self.visit(node)
        self.scope = outer

    def visit_Module(self, node: ast.Module) -> None:
        self.scopes[node] = self.scope
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.bind(node.name)
        self._function(node, [*node.decorator_list, *_annotations(node.args)], node.body)
        if node.returns is not None:
            self.visit(node.returns)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.visit_FunctionDef(node)  # refused by the compiler; scoped like a def

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._function(node, [], [node.body])

    def _function(self, node: ast.AST, outer: list[ast.expr], body: Sequence[ast.AST]) -> None:
        args = node.args  # type: ignore[attr-defined]  # FunctionDef, AsyncFunctionDef, Lambda
        for expr in [*outer, *args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self.visit(expr)
        scope = self._open(node)
        for arg in _arguments(args):
            scope.bind(arg.arg)
        self._within(scope, body)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        # Refused by the compiler; bound so that its uses are not reported a second time.
        self.scope.bind(node.name)
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        self._within(self._open(node), node.body)

    def _comprehension(self, node: ast.AST, results: list[ast.expr]) -> None:
        generators: list[ast.comprehension] = node.generators  # type: ignore[attr-defined]
        self.visit(generators[0].iter)
        scope = self._open(node, comprehension=True)
        parts: list[ast.AST] = []
        for index, generator in enumerate(generators):
            parts.append(generator.target)
            if index:
                parts.append(generator.iter)
            parts.extend(generator.ifs)
        self._within(scope, [*parts, *results])

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._comprehension(node, [node.elt])

    def visit_SetComp(self, node: ast.SetComp) -> None:
        self._comprehension(node, [node.elt])

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self._comprehension(node, [node.elt])

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, [node.key, node.value])

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        scope = self.scope
        while scope.is_comprehension and scope.parent is not None:
            scope = scope.parent
        scope.bind(node.target.id)

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            self.scope.bind(node.id)

    def visit_Global(self, node: ast.Global) -> None:
        self.scope.declared_global.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        # Refused by the compiler; the names are an enclosing function's, so bound.
        self.scope.bound.update(node.names)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.scope.bind(node.name)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        # Refused by the compiler; bound so that the module's uses are not reported again.
        for alias in node.names:
            self.scope.bind(alias.asname or alias.name.partition(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.visit_Import(node)

    def visit_MatchAs(self, node: ast.MatchAs | ast.MatchStar) -> None:
        if node.name:
            self.scope.bind(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        self.visit_MatchAs(node)  # refused by the compiler (match); bound all the same

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.scope.bind(node.rest)
        self.generic_visit(node)


def _arguments(args: ast.arguments) -> Iterator[ast.arg]:
    yield from args.posonlyargs
    yield from args.args
    if args.vararg:
        yield args.vararg
    yield from args.kwonlyargs
    if args.kwarg:
        yield args.kwarg


def _annotations(args: ast.arguments) -> list[ast.expr]:
    return [arg.annotation for arg in _arguments(args) if arg.annotation is not None]
