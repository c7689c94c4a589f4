"""Host code the policy vouches for: ``expose.NAME.evaluate``.

Promise: the only host code a probe can make run is a property getter or a zero-argument
method that the policy names by its exact path under ``evaluate``, found statically on the
class of the object reached at that path (a ``property``'s ``fget``, a
``functools.cached_property``'s function, called without storing its cache, or a plain
function defined in the class whose parameters after ``self`` all have defaults; not a
generator or coroutine function, a classmethod, a staticmethod, a custom descriptor, an
instance attribute or ``__getattr__``). Nothing else runs: a near miss (another attribute
of the same object, the same name at another path, a method named without ``()``, a
property named with it, a call with arguments) is refused as a view refuses any host code.
A secret-named entry is never run: it reads as the redaction marker. Each run is counted
for the audit record (``evaluated``), and its result is wrapped like any host value read
at that path. Threat model: SECURITY.md, "Evaluated host code".

Limits. Host code does not tick by itself, so while it runs the runner thread traces it
(``sys.settrace``, this thread only): every call and line takes a step of the attempt's
budget, so a vouched method that loops stops at the deadline or the step cap, in thread
isolation as in the fork child. What tracing cannot stop: one long C call (a
``time.sleep``, a lock held elsewhere, a huge sort) and host code that catches the stop
(``except BaseException``) and carries on; CPython drops a trace function that raised. In
``isolation: fork`` (the default) the child is killed at the deadline whatever it runs, and
the host's memory is untouched even if the method mutates; in ``isolation: thread`` the
method runs in the host, with the host's memory, locks and side effects: the policy author
vouches for exactly that.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, NoReturn, cast

from safeprobe.errors import EvaluationError, ProbeDenied, ProbeStopped
from safeprobe.probe.budget import Budget
from safeprobe.probe.host_keys import NOT_FOUND
from safeprobe.probe.redaction import REDACTED
from safeprobe.probe.render import register_hook
from safeprobe.probe.slots import TYPE_NAME
from safeprobe.probe.static_reads import class_attribute, read_attribute
from safeprobe.probe.view_context import ViewContext
from safeprobe.probe.views import wrap

PROPERTY: Final = "property"
METHOD: Final = "method"

# Paths recorded in one audit record: the policy caps entries per exposure
# (policy.MAX_EVALUATE_ENTRIES), this caps them over all exposures, so a record stays small.
MAX_RECORDED_PATHS: Final = 64
# A host exception's class name is shown when it is a plain identifier this short.
_MAX_NAME_CHARS: Final = 100
# Code flags of functions whose call does not run their body (it makes a generator or a
# coroutine, which then needs driving, or warns "never awaited" in the host when dropped).
_DEFERRED_FLAGS: Final = (
    inspect.CO_GENERATOR
    | inspect.CO_COROUTINE
    | inspect.CO_ITERABLE_COROUTINE
    | inspect.CO_ASYNC_GENERATOR
)
_VARARGS: Final = inspect.CO_VARARGS


def parse_entry(text: str) -> tuple[tuple[str, ...], str]:
    """``"cache.size()"`` -> ``(("cache", "size"), METHOD)``; the policy checked the text."""
    if text.endswith("()"):
        return tuple(text[:-2].split(".")), METHOD
    return tuple(text.split(".")), PROPERTY


@dataclass(frozen=True, slots=True)
class EvaluatePlan:
    """The evaluate entries of one exposure, by attribute path. Pure."""

    exposure: str
    kinds: Mapping[tuple[str, ...], str]

    @classmethod
    def parse(cls, exposure: str, entries: Iterable[str]) -> EvaluatePlan:
        return cls(exposure, dict(map(parse_entry, entries)))

    def dotted(self, path: tuple[str, ...]) -> str:
        """The audit's name for the entry at ``path``: as the policy spells it, prefixed."""
        text = ".".join((self.exposure, *path))
        return f"{text}()" if self.kinds.get(path) == METHOD else text


def host_function(cls: type, name: str, kind: str) -> Callable[[object], object]:
    """The one function that evaluating ``name`` of kind ``kind`` on an instance of ``cls``
    runs, found along the MRO without running anything; ProbeDenied if the class holds
    something else there. Shared by the view (at run time) and ``check`` (offline)."""
    found = class_attribute(cls, name)
    if found is NOT_FOUND:
        raise AttributeError(name)
    shape = type(found)
    if kind == PROPERTY:
        if shape is property:
            getter = cast(property, found).fget
            if getter is not None:
                return getter
        elif shape is functools.cached_property:
            # Its function, called directly: the cache it would store in the instance
            # dict is a write to the host, so the probe computes without keeping it.
            function = read_attribute(found, "func")
            if callable(function):
                return cast("Callable[[object], object]", function)
        if shape is types.FunctionType:
            raise ProbeDenied("evaluate", f"{name!r} is a method: name it '{name}()' in evaluate")
        raise ProbeDenied("evaluate", f"{name!r} is not a property")
    if shape is property or shape is functools.cached_property:
        raise ProbeDenied("evaluate", f"{name!r} is a property: name it without '()'")
    if shape is not types.FunctionType:
        # classmethod, staticmethod, partialmethod, a builtin or a custom descriptor: what
        # they would call is not the plain function the policy's reviewer read.
        raise ProbeDenied("evaluate", f"{name!r} is not a plain method defined in the class")
    function = cast(types.FunctionType, found)
    if function.__code__.co_flags & _DEFERRED_FLAGS:
        raise ProbeDenied(
            "evaluate", f"{name!r} is a generator or coroutine function: calling it runs nothing"
        )
    if not _takes_only_self(function):
        raise ProbeDenied("evaluate", f"{name!r} needs arguments; evaluate calls take none")
    return cast("Callable[[object], object]", function)


def _takes_only_self(function: types.FunctionType) -> bool:
    """Whether ``function(obj)`` binds every parameter."""
    code = function.__code__
    required = code.co_argcount - len(function.__defaults__ or ())
    takes_self = code.co_argcount >= 1 or bool(code.co_flags & _VARARGS)
    keywords = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
    defaults = function.__kwdefaults__ or {}
    return takes_self and required <= 1 and all(k in defaults for k in keywords)


@dataclass(slots=True)
class Evaluations:
    """What one attempt evaluated (path -> runs), and the runs themselves, under its budget.

    ``announce`` is told each distinct path before its first run: the fork child sends it
    to the host, so a child killed inside host code still has that path in the record."""

    budget: Budget
    announce: Callable[[str], None] | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def run(self, dotted: str, function: Callable[[object], object], obj: object) -> object:
        """``function(obj)`` traced, so its Python code ticks the budget; a stop raised in
        it (or one it caught) ends the attempt; its own exception becomes EvaluationError,
        naming the class only (a message could hold a host value)."""
        self._count(dotted)
        budget = self.budget
        budget.tick()

        def trace(_frame: types.FrameType, _event: str, _arg: object) -> object:
            budget.tick()
            return trace

        failure: str | None = None
        previous = sys.gettrace()
        sys.settrace(trace)  # type: ignore[arg-type]  # typeshed's recursive alias is private
        try:
            result = function(obj)
        except ProbeStopped:
            raise
        except (KeyboardInterrupt, SystemExit) as exc:
            # In run_probe's main thread these are the host's own signal handlers, let
            # through as _execute lets them; in the runner thread only the method raised it.
            if threading.current_thread() is threading.main_thread():
                raise
            failure = _class_name(exc)
        except BaseException as exc:  # noqa: BLE001 - the host's error is data for the probe
            failure = _class_name(exc)
        finally:
            sys.settrace(previous)
        if budget.stopped is not None:
            raise budget.stopped
        if failure is not None:
            # Raised here, after the except block, so it carries no host frames or context.
            raise EvaluationError(dotted, failure)
        return result

    def _count(self, dotted: str) -> None:
        if dotted in self.counts:
            self.counts[dotted] += 1
            return
        if len(self.counts) >= MAX_RECORDED_PATHS:
            self.counts[_MORE] = self.counts.get(_MORE, 0) + 1
            return
        self.counts[dotted] = 1
        if self.announce is not None:
            self.announce(dotted)

    def record(self) -> dict[str, int | None]:
        """The audit record's ``evaluated``: each path and its runs, sorted."""
        return dict(sorted(self.counts.items()))


# Runs of paths past MAX_RECORDED_PATHS, counted together under this key.
_MORE: Final = "(more)"


def merge_reports(
    known: frozenset[str], announced: Iterable[str], counted: object
) -> dict[str, int | None]:
    """What a fork child evaluated, from what it sent: paths it announced (count null when
    the child ended before reporting counts) and the counts in its header. Only paths the
    policy names are kept, so a child cannot write other text into the audit record."""
    merged: dict[str, int | None] = {p: None for p in announced if p in known}
    if type(counted) is dict:
        for path, count in cast("dict[object, object]", counted).items():
            if type(path) is str and (path in known or path == _MORE) and type(count) is int:
                merged[path] = count
    return dict(sorted(merged.items()))


def known_paths(plans: Iterable[EvaluatePlan]) -> frozenset[str]:
    return frozenset(plan.dotted(path) for plan in plans for path in plan.kinds)


@dataclass(frozen=True, slots=True)
class Evaluator:
    """One exposure's evaluate plan and the attempt's Evaluations, as a view uses them."""

    plan: EvaluatePlan
    evaluations: Evaluations

    def names(self, path: tuple[str, ...]) -> bool:
        return path in self.plan.kinds

    def evaluate(self, obj: object, path: tuple[str, ...], ctx: ViewContext) -> object:
        """The probe read ``path`` (named under evaluate) on ``obj``, which the view refused
        to read statically: a property's value, wrapped at ``path``, or a HostCall."""
        name = path[-1]
        kind = self.plan.kinds[path]
        dotted = self.plan.dotted(path)
        if issubclass(type(obj), type):
            ctx.deny("evaluate", f"{dotted} is read on a class; evaluate runs instance code")
        try:
            function = host_function(type(obj), name, kind)
        except ProbeDenied as error:
            ctx.deny(error.rule, f"{dotted}: {error.problem}")
        secret = ctx.redactor.hides(name)
        if kind == PROPERTY:
            if secret:
                return REDACTED
            return wrap(self.evaluations.run(dotted, function, obj), path, ctx)

        def call() -> object:
            if secret:
                return REDACTED
            return wrap(self.evaluations.run(dotted, function, obj), path, ctx)

        return HostCall(dotted, call, ctx)


class HostCall:
    """A vouched zero-argument method, bound: calling it runs the method once."""

    __slots__ = ("_sp_call", "_sp_ctx", "_sp_dotted")

    _sp_call: Callable[[], object]
    _sp_ctx: ViewContext
    _sp_dotted: str

    def __init__(self, dotted: str, call: Callable[[], object], ctx: ViewContext) -> None:
        object.__setattr__(self, "_sp_dotted", dotted)
        object.__setattr__(self, "_sp_call", call)
        object.__setattr__(self, "_sp_ctx", ctx)

    def __call__(self, *args: object, **kwargs: object) -> object:
        if args or kwargs:
            self._sp_ctx.deny("evaluate", f"{self._sp_dotted} is named without arguments")
        return self._sp_call()

    def __repr__(self) -> str:
        return f"<host method {self._sp_dotted}>"

    __str__ = __repr__

    def __setattr__(self, name: str, value: object) -> None:
        raise TypeError("a host method cannot be changed")

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("host methods cannot be pickled")


def _class_name(exc: BaseException) -> str:
    # The name slot of the class's own C type: a metaclass's __name__ property does not run.
    name = TYPE_NAME.__get__(type(exc))
    if type(name) is str and name.isidentifier() and len(name) <= _MAX_NAME_CHARS:
        return name
    return "an exception"


register_hook(HostCall, lambda value, _depth: repr(value))
