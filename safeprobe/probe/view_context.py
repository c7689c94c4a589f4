"""What every view of one exposure shares during one attempt, and the attribute read
plans the views make.

Promise: every answer remembered here is a function of what it is keyed by, for one
attempt: the allowlist's answer for a path tuple, a type's container kind and whether its
values may be closed ones, the allowlist's and redactor's answers for a (path, name) read
and what the class side of the exact type leaves to the instance (``ReadPlan``). Keys are
ids of objects held by the entry and compared by identity, so no host ``__hash__`` or
``__eq__`` runs and an id is never reused while the attempt lasts. Threat model:
SECURITY.md, "No host code runs" and "Allowlist".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn

from safeprobe.errors import ProbeDenied
from safeprobe.probe.allowlist import Allowlist
from safeprobe.probe.budget import Budget
from safeprobe.probe.containers import kind_of_type
from safeprobe.probe.host_keys import KeyMemo
from safeprobe.probe.redaction import Redactor
from safeprobe.probe.render import RenderLimits
from safeprobe.probe.static_reads import DictGetter, SlotGetter
from safeprobe.probe.values import may_be_closed

if TYPE_CHECKING:
    from safeprobe.probe.evaluation import Evaluator


class ReadPlan:
    """What reading ``name`` at one access path needs, found at its first read in an
    attempt: the child path, whether the redactor hides the name, and, for instances of
    exactly ``kind`` (a plain object, not a container), the C getter ``read_attribute``
    would look in first (static_reads.first_reader). Held by ViewContext.reads."""

    __slots__ = ("child", "dict_get", "hidden", "kind", "path", "slot_get")

    def __init__(self, path: tuple[str, ...], child: tuple[str, ...], hidden: bool) -> None:
        self.path = path  # held: the key is its id
        self.child = child
        self.hidden = hidden
        self.kind: type | None = None
        self.dict_get: DictGetter | None = None
        self.slot_get: SlotGetter | None = None


@dataclass(frozen=True, slots=True)
class ViewContext:
    """What every view of one exposure shares during one attempt."""

    exposure: str
    allowlist: Allowlist
    redactor: Redactor
    max_items: int
    render_limits: RenderLimits
    on_denied: Callable[[ProbeDenied], None]
    keys: KeyMemo = field(default_factory=KeyMemo)
    # The attempt's budget: snapshots and slices are charged to it and slices tick it.
    # None only in unit tests of the view alone.
    budget: Budget | None = None
    # The properties and zero-argument methods the policy names under ``evaluate``;
    # None when it names none, so no host code can run (evaluation.py).
    evaluator: Evaluator | None = None
    # What a read of (path, name) needs (View.sp_getattr): by the path tuple's id.
    reads: dict[tuple[int, str], ReadPlan] = field(default_factory=dict)
    # The plan of each name's latest read (planned_getattr looks here first).
    latest: dict[str, ReadPlan] = field(default_factory=dict)
    # type_facts' and access' answers, by the type's or path's id, the key object held.
    kinds: dict[int, tuple[type, str, bool]] = field(default_factory=dict)
    accesses: dict[int, tuple[tuple[str, ...], str]] = field(default_factory=dict)

    def type_facts(self, kind: type) -> tuple[type, str, bool]:
        """``kind`` (held), its container kind (containers.kind_of) and whether its values
        may be closed ones (values.may_be_closed): functions of the exact type, found once
        per type per attempt (a walk makes a view per host object it meets)."""
        known = self.kinds.get(id(kind))
        if known is None or known[0] is not kind:
            known = self.kinds[id(kind)] = (kind, kind_of_type(kind), may_be_closed(kind))
        return known

    def access(self, path: tuple[str, ...]) -> str:
        """The allowlist's answer for ``path``, found once per path tuple per attempt."""
        known = self.accesses.get(id(path))
        if known is None or known[0] is not path:
            known = self.accesses[id(path)] = (path, self.allowlist.access(path))
        return known[1]

    def deny(self, rule: str, problem: str) -> NoReturn:
        error = ProbeDenied(rule, problem)
        self.on_denied(error)
        raise error

    def dotted(self, path: tuple[str, ...]) -> str:
        return ".".join((self.exposure, *path))
