"""Checking a probe against a policy before it ever reaches a host.

Promise: every finding is a refusal the host would also make, named with the probe's line
(and column, where the text shows one) and the rule. The check reuses the host's own parts,
so the two cannot drift apart: the file is read by ``source.read_probe`` with the policy's
owners, size cap and pins; the code is compiled by ``compiler.probe_compile_errors``, the
host's compilation; the names a probe sees come from a real ``sandbox.Sandbox`` namespace;
attribute paths are matched by ``proxy.Allowlist``, the proxy's own matcher.

The static checks report only what the text makes certain, so a finding is never a false
alarm: a name bound anywhere a lookup could reach is not reported, and attribute paths are
followed only from an exposed name that the probe does not rebind. What they cannot see:
values that flow through variables (``x = app.data; x.secret``), whether a target exists in
the host, and limits that depend on data (time, steps, sizes). ``lint_probe`` reads files;
everything else here is pure.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import functools
import hashlib
import os
import re
from dataclasses import dataclass
from typing import Final

from safeprobe.errors import ProbeRejected
from safeprobe.files import READ_NO_FOLLOW
from safeprobe.host.source import read_probe
from safeprobe.policy.models import Policy, ProbeSpec
from safeprobe.probe.allowlist import Access, Allowlist
from safeprobe.probe.budget import Budget, OutputBuffer
from safeprobe.probe.compiler import BUILTIN_HINTS, probe_compile_errors
from safeprobe.probe.own_methods import SAFE_METHODS
from safeprobe.probe.render import RenderLimits
from safeprobe.probe.sandbox import AttemptState, Sandbox
from safeprobe.probe.scopes import Scope, bind_scopes
from safeprobe.probe.view_methods import MAPPING_METHODS, SEQUENCE_METHODS, SET_METHODS

# A view's container methods (a view of a dict has keys() …) that are not attribute paths.
_VIEW_METHODS: Final = MAPPING_METHODS | SEQUENCE_METHODS | SET_METHODS
# Those whose result holds views at the same path (values() of data are still data).
_PATH_KEEPING_METHODS: Final = frozenset({"keys", "values", "items", "get", "copy"})
# Refusals of the probe file after which its text can still be read and checked.
_READABLE_REFUSALS: Final = frozenset({"owner", "mode", "sha256"})
_LINE_BREAK: Final = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Finding:
    """One refusal the host would make, where it would make it."""

    path: str
    line: int | None
    column: int | None  # 1-based, in characters
    rule: str
    message: str
    hint: str | None = None

    @property
    def location(self) -> str:
        """``path``, ``path:line`` or ``path:line:column``, as compilers print them."""
        if self.line is None:
            return self.path
        if self.column is None:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.line}:{self.column}"

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "message": self.message,
            "hint": self.hint,
        }


def lint_probe(
    path: str, policy: Policy, *, policy_name: str, spec: ProbeSpec | None = None
) -> list[Finding]:
    """Read the probe as the host would under ``spec`` (default: the policy's `probe`),
    then check it; file refusals come first."""
    spec = spec or policy.probe
    findings: list[Finding] = []
    try:
        text = read_probe(
            path, owners=spec.owners, max_bytes=spec.max_bytes, sha256_pins=spec.sha256
        ).text
    except ProbeRejected as refused:
        data = _read_despite(refused, spec.max_bytes)
        findings.append(_file_finding(refused, spec, data))
        if data is None:
            return findings
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return findings
    return findings + lint_source(text, path=path, policy=policy, policy_name=policy_name)


def lint_source(text: str, *, path: str, policy: Policy, policy_name: str) -> list[Finding]:
    """Compile errors and static findings for probe ``text``, in line order. Pure."""
    errors = probe_compile_errors(text, path=path)
    findings = [Finding(path, e.line, None, "compile", e.problem) for e in errors]
    if any(e.problem.startswith(("SyntaxError", "compiler failed")) for e in errors):
        return findings
    try:
        tree = ast.parse(text, filename=path)
        checker = _Checker(text, path, policy, policy_name)
        checker.run(tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return findings  # the compile errors above already say why
    findings.extend(checker.findings)
    return sorted(findings, key=lambda f: (f.line or 0, f.column or 0))


def sandbox_names() -> frozenset[str]:
    """The names every probe sees besides its exposures, from a real sandbox namespace."""
    return frozenset(_sandbox_types())


@functools.cache
def _sandbox_types() -> dict[str, type]:
    """Each name of a real sandbox namespace, with the type of what it holds there."""
    state = AttemptState(
        budget=Budget(timeout_s=1.0, max_steps=1, max_items=1),
        output=OutputBuffer(1),
        render_limits=RenderLimits(),
    )
    namespace = Sandbox(state).globals({}, name="lint")
    provided = namespace["__builtins__"]
    assert isinstance(provided, dict)
    merged = {**provided, **namespace}
    # print is not in the namespace: the compiler turns every use of the name into the
    # _print_ hook, and calls what RestrictedPython's print protocol names _call_print.
    hook = namespace["_print_"]
    assert callable(hook)
    merged["print"] = getattr(hook(), "_call_print")  # noqa: B009 - a protocol name, not a constant attribute
    return {name: type(value) for name, value in merged.items() if not name.startswith("_")}


# -- the probe file ---------------------------------------------------------------------------


def _read_despite(refused: ProbeRejected, max_bytes: int) -> bytes | None:
    """The file's bytes after a refusal that leaves them worth checking (owner, mode, pin).

    The operator's own process reads the operator's own file here, so checking on would be
    no risk; the file still cannot be a symlink (read_probe refused those first).
    """
    if refused.rule not in _READABLE_REFUSALS:
        return None
    try:
        fd = os.open(refused.path, READ_NO_FOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        data = file.read(max_bytes + 1)
    return data if len(data) <= max_bytes else None


def _file_finding(refused: ProbeRejected, spec: ProbeSpec, data: bytes | None) -> Finding:
    hints = {
        "owner": f"the policy allows owners {', '.join(spec.owners)} "
        "(probe.owners; 'current' is checked here as you, on the host as the host's user)",
        "mode": f"chmod go-w {refused.path}",
        "size": f"probe.max_size is {spec.max_bytes} bytes",
        "symlink": "point the policy at the file itself",
    }
    hint = hints.get(refused.rule)
    if refused.rule == "sha256" and data is not None:
        hint = f"to allow this content, add its sha256 to probe.sha256: {_sha256(data)}"
    return Finding(refused.path, None, None, refused.rule, refused.problem, hint)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the checks -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ViewPath:
    """An expression that is, at run time, a view of exposure ``name`` at ``path``."""

    name: str
    path: tuple[str, ...]
    allowlist: Allowlist
    method: str | None = None  # set when the expression is a view's container method

    def dotted(self, path: tuple[str, ...] | None = None) -> str:
        return ".".join((self.name, *(self.path if path is None else path)))


class _Checker(ast.NodeVisitor):
    """Second pass: every name lookup and attribute step, against the policy."""

    def __init__(self, text: str, path: str, policy: Policy, policy_name: str) -> None:
        self.lines = _LINE_BREAK.split(text)
        self.path = path
        self.policy = policy
        self.policy_name = policy_name
        self.exposed = dict(policy.expose)
        self.available = sandbox_names() | frozenset(self.exposed) | frozenset(policy.facts)
        self.allowlists = {name: Allowlist.parse(e.allow) for name, e in self.exposed.items()}
        self.findings: list[Finding] = []
        self.scopes: dict[ast.AST, Scope] = {}
        self.scope = Scope(parent=None)

    def run(self, tree: ast.Module) -> None:
        self.scopes = bind_scopes(tree)
        self.visit(tree)

    def generic_visit(self, node: ast.AST) -> None:
        # A scope is entered at its node, so defaults and a comprehension's first iterable
        # are looked up from inside it. Its names only add to the outer scope's, so this
        # can miss a finding there but never invent one.
        scope = self.scopes.get(node)
        if scope is None:
            super().generic_visit(node)
            return
        outer, self.scope = self.scope, scope
        super().generic_visit(node)
        self.scope = outer

    def _report(self, node: ast.AST, rule: str, message: str, hint: str | None) -> None:
        line: int = getattr(node, "lineno", 0)
        offset: int = getattr(node, "col_offset", 0)
        if isinstance(node, ast.Attribute) and node.end_lineno and node.end_col_offset:
            # At the attribute's own name, not at the start of the chain it ends.
            line, offset = node.end_lineno, node.end_col_offset - len(node.attr.encode())
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        column = len(text.encode("utf-8")[:offset].decode("utf-8", "replace")) + 1
        self.findings.append(Finding(self.path, line, column, rule, message, hint))

    # -- names --------------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if not isinstance(node.ctx, ast.Load) or name.startswith("_"):
            return  # stores bind; "_" names are the compiler's to refuse
        if self.scope.binds(name) or name in self.available:
            return
        if hasattr(builtins, name):
            hint = BUILTIN_HINTS.get(name, "the README lists what a probe may call")
            self._report(
                node, "builtins", f"builtin {name!r} is not available in the sandbox", hint
            )
            return
        close = difflib.get_close_matches(name, sorted(self.available), n=1)
        if close:
            hint = f"did you mean {close[0]!r}?"
        elif self.exposed:
            hint = f"the policy exposes {', '.join(sorted(self.exposed))}"
        else:
            hint = f"the policy exposes nothing; add it under 'expose:' in {self.policy_name}"
        message = f"name {name!r} is not exposed by policy {self.policy_name}"
        self._report(node, "expose", message, hint)

    # -- attribute paths below an exposure ------------------------------------------------

    def _view(self, node: ast.AST) -> _ViewPath | None:
        """The view ``node`` evaluates to, if the text shows it; None if not, or refused."""
        if isinstance(node, ast.Name):
            allowlist = self.allowlists.get(node.id)
            if allowlist is None or self.scope.binds(node.id):
                return None
            return _ViewPath(node.id, (), allowlist)
        if isinstance(node, ast.Call):
            base = self._view(node.func)
            keeps = base is not None and base.method in _PATH_KEEPING_METHODS
            return _ViewPath(base.name, base.path, base.allowlist) if base and keeps else None
        if isinstance(node, ast.Attribute):
            base = self._view(node.value)
            if base is None or base.method is not None:
                return None
            return self._attribute_step(base, node.attr)
        if isinstance(node, ast.Subscript):
            base = self._view(node.value)
            if base is None or base.method is not None:
                return None
            return base if base.allowlist.access(base.path) == Access.FULL else None
        return None

    def _attribute_step(self, base: _ViewPath, name: str) -> _ViewPath | None:
        child = (*base.path, name)
        if base.allowlist.access(child) != Access.NONE:
            return _ViewPath(base.name, child, base.allowlist)
        if name in _VIEW_METHODS and base.allowlist.access(base.path) == Access.FULL:
            return _ViewPath(base.name, base.path, base.allowlist, method=name)
        return None

    def _allow_hint(self, view: _ViewPath) -> str:
        allow = self.exposed[view.name].allow
        if not allow:
            return f"expose.{view.name}.allow is empty: only {view.name} itself is readable"
        return f"expose.{view.name}.allow is [{', '.join(allow)}]"

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.generic_visit(node)
        base = self._view(node.value)
        self._check_value_method(node)
        if base is None or base.method is not None or node.attr.startswith("_"):
            return
        if not isinstance(node.ctx, ast.Load):
            self._refuse_write(node, base)
        elif self._attribute_step(base, node.attr) is None:
            child = (*base.path, node.attr)
            message = f"{base.dotted(child)} is not in the allowlist of expose.{base.name}"
            self._report(node, "allowlist", message, self._allow_hint(base))

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self.generic_visit(node)
        base = self._view(node.value)
        if base is None or base.method is not None:
            return
        if not isinstance(node.ctx, ast.Load):
            self._refuse_write(node, base)
        else:
            self._require_full(node, base, "item access")

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.generic_visit(node)
        self._check_iteration(node.iter)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self.visit_For(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.generic_visit(node)
        self._check_iteration(node.iter)

    def _check_iteration(self, iterable: ast.expr) -> None:
        view = self._view(iterable)
        if view is not None and view.method is None:
            self._require_full(iterable, view, "iteration")

    def _require_full(self, node: ast.AST, view: _ViewPath, what: str) -> None:
        if view.allowlist.access(view.path) != Access.FULL:
            hint = f"add {'.'.join(view.path)!r} to expose.{view.name}.allow to read it whole"
            self._report(node, "allowlist", f"{what} of {view.dotted()} is not allowed", hint)

    def _refuse_write(self, node: ast.AST, view: _ViewPath) -> None:
        message = f"{view.dotted()} is a read-only view of the host"
        hint = "copy it into a value of the probe's own first, e.g. d = dict(...)"
        self._report(node, "read-only", message, hint)

    # -- attributes of sandbox values: the attribute guard allows SAFE_METHODS only -----

    def _check_value_method(self, node: ast.Attribute) -> None:
        """``'a'.format_map``, ``len.x``, ``ValueError.args``: refused whatever the data."""
        value = node.value
        kind: type | None = None
        if isinstance(value, _LITERALS):
            kind = _literal_type(value)
        elif isinstance(value, ast.Name) and not self.scope.binds(value.id):
            kind = _sandbox_types().get(value.id)
        if kind is None or node.attr.startswith("_"):
            return
        if node.attr not in SAFE_METHODS.get(kind, frozenset()):
            message = f"{node.attr!r} of {kind.__name__} values is not available to probes"
            self._report(node, "attribute", message, None)


_LITERALS: Final = (
    ast.Constant,
    ast.JoinedStr,
    ast.List,
    ast.ListComp,
    ast.Tuple,
    ast.Dict,
    ast.DictComp,
    ast.Set,
    ast.SetComp,
)


def _literal_type(node: ast.expr) -> type:
    if isinstance(node, ast.Constant):
        return type(node.value)
    # By the id of the node's class: type tests are by identity everywhere in the package.
    kinds: dict[int, type] = {
        id(ast.JoinedStr): str,
        id(ast.List): list,
        id(ast.ListComp): list,
        id(ast.Tuple): tuple,
        id(ast.Dict): dict,
        id(ast.DictComp): dict,
        id(ast.Set): set,
        id(ast.SetComp): set,
    }
    return kinds[id(type(node))]
