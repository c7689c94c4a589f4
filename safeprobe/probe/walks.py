"""Guarded walks: what a probe's ``for`` loops, unpackings and C-iterating builtins walk.

Promise: every item a probe's loop or a builtin takes from an iterable costs a step of the
attempt's budget, charged before the item is handed over: one tick per item
(TickingIterator), or, where the budget allows it (a forked child, which the host kills at
the deadline: ``Budget.batch_walks``), a batch of data at a time (budget.py
``batched_walk``); a view is walked through its own charged snapshot. Unpacking (``a, b =
x``, ``for a, b in xs``) takes RestrictedPython's guarded path unless every item is an
exact tuple or list of the target's length, which unpacks in C without running any code.
Threat model: SECURITY.md, "Time".
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice, repeat
from typing import Final, cast

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from safeprobe.probe.budget import (
    Budget,
    TickingIterator,
    batched_walk,
    live_batch_counts,
    walk_batches,
)
from safeprobe.probe.own_methods import type_ids
from safeprobe.probe.views import View

# RestrictedPython's unpacking guards, typed: the path for anything but our fast one.
_unpack_guarded: Final[Callable[..., object]] = guarded_unpack_sequence
_iter_unpack_guarded: Final[Callable[..., Iterator[object]]] = guarded_iter_unpack_sequence


class Walks:
    """The walks of one attempt, charged to its budget (a collaborator of its Sandbox)."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def guarded_iter(self, obj: object) -> Iterator[object]:
        """A walk of ``obj`` that costs a step per item. Where the budget allows it (a
        forked child: ``Budget.batch_walks``), a view's snapshot and the builtin containers
        of _BATCHED_IDS, which hold data already, are walked in batches (budget.py:
        ``batched_walk``, one Python call per batch); anything else (map, filter, zip over
        probe functions …) item by item, so the probe's code runs in its own order."""
        budget = self.budget
        if type(obj) is View:
            values = obj.sp_iter_values()
            if not budget.batch_walks:
                return TickingIterator(values, budget)
            # A private snapshot's own iterator, whose length hint is exact: a node's few
            # children are one batch, charged at once, cheaper than setting up batches.
            count = operator.length_hint(values)
            if count <= _SMALL_WALK:
                budget.tick_many(count)
                return values
            return batched_walk(values, budget)
        if budget.batch_walks and id(type(obj)) in _BATCHED_IDS:
            return batched_walk(obj if type(obj) is list else iter(obj), budget)  # type: ignore[call-overload]
        return TickingIterator(iter(obj), budget)  # type: ignore[call-overload]

    def iter_unpack_sequence(
        self, iterable: object, spec: dict[str, object], getiter: Callable[[object], object]
    ) -> Iterator[object]:
        """``for a, b in iterable``: RestrictedPython's guard, whose per-item walk (a list
        of a guarded iterator, for every pair) is skipped for the common case that needs
        none: a tuple or list of the probe's own with exactly as many items as the target
        names unpacks in C without running any code. Anything else, a view included,
        takes RestrictedPython's path."""
        if spec["childs"]:
            return _iter_unpack_guarded(iterable, spec, getiter)
        if not self.budget.batch_walks:
            return self._unpack_items(self.guarded_iter(iterable), spec, getiter)
        if type(iterable) is list:
            return chain.from_iterable(
                self._unpack_live(cast("list[object]", iterable), spec, getiter)
            )
        if type(iterable) is View:
            source: Iterator[object] = iterable.sp_iter_values()
        elif id(type(iterable)) in _BATCHED_IDS:
            source = iter(iterable)  # type: ignore[call-overload]
        else:
            return self._unpack_items(self.guarded_iter(iterable), spec, getiter)
        batches = walk_batches(source, self.budget)
        return chain.from_iterable(self._unpack_batches(batches, spec, getiter))

    def _unpack_batches(
        self,
        batches: Iterator[list[object]],
        spec: dict[str, object],
        getiter: Callable[[object], object],
    ) -> Iterator[Iterable[object]]:
        """Each batch as it is when every item is an exact tuple of the target's length
        (checked in C: the type by identity first, the length only of exact tuples, so no
        code of the items runs), which the loop then unpacks in C; otherwise the batch's
        items one at a time, lazily, as ``_unpack_items`` does over ``guarded_iter``."""
        size = spec["min_len"]
        for batch in batches:
            if all(map(operator.is_, map(type, batch), repeat(tuple))) and all(
                map(operator.eq, map(len, cast("list[tuple[object]]", batch)), repeat(size))
            ):
                yield batch
            else:
                yield self._unpack_items(batch, spec, getiter)

    def _unpack_live(
        self, items: list[object], spec: dict[str, object], getiter: Callable[[object], object]
    ) -> Iterator[Iterable[object]]:
        """A list of the probe's own, walked live as ``batched_walk`` walks a list: each
        batch is handed over as Python's own iterator of the list, for the loop to unpack
        in C, when the items it will take are exact tuples of the target's length as they
        stand in the list now (checked in C, on a slice); otherwise one at a time through
        ``_unpack_items``. An item the loop's body replaces further on within the batch is
        then unpacked by the loop itself (UNPACK_SEQUENCE, which takes at most one item
        past the target's length from it), as plain Python would: every value a probe can
        hold iterates in C, as probe code, or through its view's own guarded snapshot."""
        size = spec["min_len"]
        walk = iter(items)
        for count in live_batch_counts(walk, self.budget):
            start = len(items) - operator.length_hint(walk)
            ahead = cast("list[tuple[object]]", items[start : start + count])
            if all(map(operator.is_, map(type, ahead), repeat(tuple))) and all(
                map(operator.eq, map(len, ahead), repeat(size))
            ):
                yield islice(walk, count)
            else:
                yield self._unpack_items(islice(walk, count), spec, getiter)

    def _unpack_items(
        self, items: Iterable[object], spec: dict[str, object], getiter: Callable[[object], object]
    ) -> Iterator[object]:
        """Each item of ``items`` unpackable as ``spec`` asks, taken one at a time: an exact
        tuple or list of the right length as it is, anything else through the guard."""
        size = spec["min_len"]
        for item in items:
            kind = type(item)
            if (kind is tuple or kind is list) and len(cast("tuple[object]", item)) == size:
                yield item
            else:
                yield _unpack_guarded(item, spec, getiter)

    def unpack_sequence(
        self, value: object, spec: dict[str, object], getiter: Callable[[object], object]
    ) -> object:
        """``a, b = value``, with the same fast path as ``iter_unpack_sequence``."""
        kind = type(value)
        if (
            not spec["childs"]
            and (kind is tuple or kind is list)
            and len(cast("tuple[object]", value)) == spec["min_len"]
        ):
            return value
        return _unpack_guarded(value, spec, getiter)


# Builtin containers whose iterator hands out stored items and runs no code, so steps can
# be charged a batch at a time. A list, which the loop's body may change, is walked by its
# own iterator, live (budget._live_batches): never read ahead, so an item the loop changes,
# removes or appends further on is seen as plain Python sees it; for the same reason its
# unpacking walk checks each item when the loop takes it (_unpack_items). Left out on
# purpose: dict and set, whose iterators raise when the container changes size during the
# walk, which a batch taken early would hide; lazy iterators (map, filter, zip, enumerate),
# which may call the probe's own functions, in an order a batch would change.
_BATCHED_IDS: Final = type_ids(list, tuple, str, bytes, range, frozenset)
# Views of at most this many items are walked with a tick per item (TickingIterator).
_SMALL_WALK: Final = 8
