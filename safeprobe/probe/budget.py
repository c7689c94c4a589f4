"""Budgets a probe runs under: deadline, steps, call depth, sizes and output.

Promise: a probe written in pure Python stops within a few milliseconds of its deadline or
at its step budget, whatever it catches, because every loop head, function entry and
guarded iteration calls ``Budget.tick`` and a stop is sticky (once stopped, every later
tick raises again). One C call cannot be interrupted in thread isolation, so anything that
could allocate or loop much in one call is checked against the size caps before it starts
(in ``isolation: fork`` the child is also killed at the deadline: host/isolation.py).
Threat model: SECURITY.md, "Time", "Memory" and "Output".
"""

from __future__ import annotations

import operator
import os
import time
from collections.abc import Callable, Iterator
from itertools import chain, islice
from typing import Final, cast

from safeprobe.errors import ProbeStopped

# Well below CPython's default recursion limit of 1000, so a runaway probe stops with our
# outcome before the interpreter's RecursionError, and the host's limit is never touched.
MAX_CALL_DEPTH: Final = 200

# Bytes one string operation (repetition, padding, replace, join, formatting) may produce.
# 16 MiB is far beyond any output cap, so no honest probe meets it.
MAX_BUILT_BYTES: Final = 16 * 1024 * 1024

# Digits in an integer built by ** or <<: 10,000 digits is ample for any metric and keeps
# one C call in microseconds (a 10**10**8 would hold the GIL for minutes).
MAX_INT_BITS: Final = 40_000

# Bytes all of one attempt's size-checked allocations may add up to. Each one-call check
# bounds a single step; this bounds a loop of them (``[[0] * 100_000 for _ in range(10**5)]``
# would otherwise build gigabytes inside the deadline). Counted, not measured: each check
# is an estimate from the call's inputs (sizes.py: a list slot per item plus each new
# item's own size), made before the call, and never credited back when a value is freed.
MAX_ATTEMPT_BUILT_BYTES: Final = 64 * 1024 * 1024
_POINTER_BYTES: Final = 8

# isolation: thread only: how much the process's resident set may grow during one attempt
# before the budget stops the probe. The estimates above charge one-call allocations;
# this backstop catches what is built step by step from small uncharged pieces (a million
# ``x + i`` of a 40,000-bit x is 5 GB, 5 KiB a step). 32 MiB, plus one call's 16 MiB
# (MAX_BUILT_BYTES) and what a loop can add between two samples, stays under the +64 MiB
# issue 11 promises. Measured, so another host thread allocating at the same time can
# stop a probe early: a refusal, the safe side.
MAX_RSS_GROWTH_BYTES: Final = 32 * 1024 * 1024
# The backstop reads /proc/self/statm (about 20 us) when a tick finds this much time
# passed since the last read: ~1% of a tight loop, and a loop of Python steps adds well
# under 1 MB in 2 ms (measured: 0.08 MB/ms keeping 40,000-bit ints).
RSS_SAMPLE_INTERVAL_S: Final = 0.002
# The backstop is also sampled before any single charged allocation this large: reading
# /proc/self/statm (~20 us) is nothing beside writing 1 MiB, and a few such calls in a
# row, with no loop between them, would otherwise all land before a tick's sample.
RSS_SAMPLE_CHARGE_BYTES: Final = 1024 * 1024
_PAGE_BYTES: Final = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

TRUNCATION_MARKER: Final = "\n[safeprobe: output truncated at {limit} bytes]\n"


class Budget:
    """Steps, deadline and call depth of one attempt."""

    __slots__ = (
        "_check_at",
        "_clock",
        "_rss_limit_pages",
        "batch_walks",
        "built_bytes",
        "deadline",
        "depth",
        "max_items",
        "max_steps",
        "steps",
        "stopped",
        "timeout_s",
    )

    def __init__(
        self,
        *,
        timeout_s: float,
        max_steps: int,
        max_items: int,
        clock: Callable[[], float] = time.monotonic,
        started: float | None = None,
        rss_backstop: bool = False,
        batch_walks: bool | None = None,
    ) -> None:
        """``started``: the ``clock()`` reading the timeout runs from (now by default).
        ``batch_walks``: whether guarded walks of data may take a step per batch of items
        (``batched_walk``) instead of a tick per item; by default only where no RSS
        backstop is asked for, that is in a forked child, which the host kills at the
        deadline (host/isolation.py) however long a batch of loop bodies takes. In the host
        process (``isolation: thread``) a walk ticks per item, so the deadline is looked at
        before every loop body."""
        self._clock = clock
        self.timeout_s = timeout_s
        self.deadline = (clock() if started is None else started) + timeout_s
        # Ticks compare the clock with _check_at: the deadline, or the next RSS sample when
        # the backstop is on, so sampling costs the fast path nothing.
        self._check_at = self.deadline
        self._rss_limit_pages: int | None = None
        if rss_backstop:
            resident = _resident_pages()
            if resident is not None:
                self._rss_limit_pages = resident + MAX_RSS_GROWTH_BYTES // _PAGE_BYTES
                self._check_at = min(self.deadline, clock() + RSS_SAMPLE_INTERVAL_S)
        self.batch_walks = (not rss_backstop) if batch_walks is None else batch_walks
        self.max_steps = max_steps
        self.max_items = max_items
        self.steps = 0
        self.depth = 0
        self.built_bytes = 0
        self.stopped: ProbeStopped | None = None

    def stop(self, outcome: str, rule: str, problem: str) -> ProbeStopped:
        if self.stopped is None:
            self.stopped = ProbeStopped(outcome, rule, problem)
        return self.stopped

    def tick(self) -> None:
        """One unit of probe work: a loop iteration, a call, an item of a guarded iterator."""
        self.steps += 1
        if (
            self.stopped is not None
            or self.steps > self.max_steps
            or self._clock() > self._check_at
        ):
            self.checkpoint()

    def tick_many(self, count: int) -> float:
        """``count`` units of work at once (the items of one batch of a batched walk); the
        clock reading it compared, for the walk to size its next batch by."""
        self.steps += count
        now = self._clock()
        if self.stopped is not None or self.steps > self.max_steps or now > self._check_at:
            self.checkpoint()
        return now

    def charge_steps(self, count: int) -> None:
        """``count`` units of work just after a ``tick_many(0)`` looked at the clock: only
        the step budget is checked again."""
        self.steps += count
        if self.steps > self.max_steps:
            self.checkpoint()

    def tick_quietly(self) -> bool:
        """A tick for work that host-facing code also runs (rendering): False once a budget
        is spent, the stop recorded so the probe's next tick raises it, instead of raising
        into a caller that may not expect a ``ProbeStopped``."""
        try:
            self.tick()
        except ProbeStopped:
            return False
        return True

    def checkpoint(self) -> None:
        """What a tick does when its fast test fails: raise a stop (sticky first, then steps,
        then time, then memory), or take an RSS sample and set the next one."""
        if self.stopped is not None:
            raise self.stopped
        if self.steps > self.max_steps:
            raise self.stop("limit", "limits.max_steps", f"more than {self.max_steps} steps")
        now = self._clock()
        if now > self.deadline:
            raise self.stop("timeout", "limits.timeout", f"ran past {self.timeout_s * 1000:g} ms")
        if self._rss_limit_pages is not None:
            self._check_rss()
            self._check_at = min(self.deadline, now + RSS_SAMPLE_INTERVAL_S)

    def enter(self) -> None:
        """A probe function was called."""
        self.depth += 1
        if self.depth > MAX_CALL_DEPTH:
            raise self.stop("limit", "recursion", f"calls nested deeper than {MAX_CALL_DEPTH}")
        self.tick()

    def leave(self) -> None:
        self.depth -= 1

    def check_items(self, count: int, what: str, *, item_bytes: int = 0) -> None:
        """Refuse building or walking a container larger than ``limits.max_items``, then
        check and charge it as a slot per item plus ``item_bytes`` for each item the call
        makes anew (sizes.py estimates it from the inputs)."""
        size = count * (_POINTER_BYTES + max(item_bytes, 0))
        if (
            count <= self.max_items
            and 0 <= size < RSS_SAMPLE_CHARGE_BYTES
            and self.built_bytes + size <= MAX_ATTEMPT_BUILT_BYTES
        ):
            # What check_bytes and _charge would decide for a small walk (far under every
            # cap, too small to sample the RSS backstop for), in one call.
            self.built_bytes += size
            return
        if count > self.max_items:
            raise self.stop(
                "limit",
                "limits.max_items",
                f"{what} of {count} items is over the {self.max_items} cap",
            )
        self.check_bytes(count * (_POINTER_BYTES + max(item_bytes, 0)), what)

    def check_bytes(self, count: int, what: str) -> None:
        if count > MAX_BUILT_BYTES:
            raise self.stop(
                "limit", "size", f"{what} would build {count} bytes, over the {MAX_BUILT_BYTES} cap"
            )
        self._charge(count, what)

    def check_total_bytes(self, count: int, what: str) -> None:
        """A result assembled from pieces already charged: checked against the one-call
        cap, not charged again."""
        if count > MAX_BUILT_BYTES:
            raise self.stop(
                "limit", "size", f"{what} would build {count} bytes, over the {MAX_BUILT_BYTES} cap"
            )

    def _charge(self, count: int, what: str) -> None:
        self.built_bytes += max(count, 0)
        if self.built_bytes > MAX_ATTEMPT_BUILT_BYTES:
            raise self.stop(
                "limit",
                "size",
                f"{what}: the probe built more than {MAX_ATTEMPT_BUILT_BYTES} bytes in all",
            )
        if count >= RSS_SAMPLE_CHARGE_BYTES and self._rss_limit_pages is not None:
            # A large allocation is about to be made: sample the backstop now instead of
            # at the next tick. Straight-line code makes no tick, so a few calls each
            # under-estimated would otherwise all land before any sample; now at most
            # this one lands past the 32 MiB (the one-call cap bounds it).
            self._check_rss()

    def _check_rss(self) -> None:
        limit = self._rss_limit_pages
        if limit is None:
            return
        resident = _resident_pages()
        if resident is not None and resident > limit:
            raise self.stop(
                "limit",
                "size",
                f"the process grew by more than {MAX_RSS_GROWTH_BYTES} bytes during the "
                "attempt (isolation: thread)",
            )

    def check_int_bits(self, bits: int, what: str) -> None:
        if bits > MAX_INT_BITS:
            raise self.stop("limit", "size", f"{what} would build an integer of {bits} bits")

    def check_expired(self) -> None:
        """Called once the probe returns: a stop it caught still decides the outcome."""
        if self.stopped is not None:
            raise self.stopped


class TickingIterator:
    """An iterator that costs one step per item, so C loops over it obey the budget.

    ``Budget.tick`` is inlined: this runs once per item of every loop a probe makes, and
    the call was a third of the cost of walking a host container.
    """

    __slots__ = ("_budget", "_it")

    def __init__(self, it: Iterator[object], budget: Budget) -> None:
        self._it = it
        self._budget = budget

    def __iter__(self) -> TickingIterator:
        return self

    def __next__(self) -> object:
        budget = self._budget
        budget.steps += 1
        if (
            budget.stopped is not None
            or budget.steps > budget.max_steps
            or budget._clock() > budget._check_at
        ):
            budget.checkpoint()
        return next(self._it)


# A batched walk (``batched_walk``) hands its items over a batch at a time: one Python call
# per batch instead of one per item (a call costs more than the loop's own work on a plain
# item). A batch grows (doubling, up to the largest size) while the one before it took
# less than WALK_BATCH_FAST_S, and falls back to a single item when it took longer, so a
# loop of slow bodies looks at the clock before each body, as a per-item tick does. The
# first batch is one item: one body can be a long C call (a search of a 10 MB string took
# 90 ms here), and a loop which breaks early is charged few steps it did not take.
WALK_FIRST_BATCH: Final = 1
_LIST_ITERATOR: Final[type] = type(iter([]))
WALK_LARGEST_BATCH: Final = 128
WALK_BATCH_FAST_S: Final = 0.0005


def batched_walk(source: Iterator[object] | list[object], budget: Budget) -> Iterator[object]:
    """The items of ``source``, charged to ``budget`` a batch at a time, before the batch
    is handed over; the items are then yielded by C code (chain), with no Python call per
    item.

    Only for a source whose items are data already (a builtin container's own iterator, a
    view's snapshot, a list): taking a batch early runs no code, and the step count is
    charged up to one batch ahead (a loop that breaks early pays up to a batch it did not
    take; one over ``max_steps`` stops up to a batch before its exact step, never after
    it). The deadline is looked at once per batch: batches stay single items while loop
    bodies are slow, but bodies that turn slow all at once (a long C call from the 100th
    item on) can run one largest batch past it. So only a budget with ``batch_walks`` (a
    forked child, which the host kills at the deadline) walks this way. A list, which the
    loop's own body may change, is never read ahead: its batch is a count of steps charged
    over Python's own list iterator (``_live_batches``), which reads each item by position
    when the loop asks for it, so a loop sees the items changed, removed or appended
    further on exactly as plain Python does.
    """
    if type(source) is list:
        return chain.from_iterable(_live_batches(iter(source), budget))
    if type(source) is _LIST_ITERATOR:
        # A list's own iterator (a view's private snapshot): walked in place, as a list is,
        # rather than copied a batch at a time.
        return chain.from_iterable(_live_batches(source, budget))  # type: ignore[arg-type]  # a list iterator
    return chain.from_iterable(walk_batches(cast("Iterator[object]", source), budget))


def _batch_sizes(budget: Budget) -> Iterator[int]:
    """The size of each next batch, the clock looked at (and a stop raised) before each:
    doubling while the batch before took under WALK_BATCH_FAST_S, one item after a slow one."""
    size = WALK_FIRST_BATCH
    last: float | None = None
    while True:
        now = budget.tick_many(0)  # a stop, the deadline, and the clock for the size
        if last is not None:
            # The time since the last batch was handed over is what its loop bodies took.
            fast = now - last < WALK_BATCH_FAST_S
            size = min(size * 2, WALK_LARGEST_BATCH) if fast else 1
        last = now
        yield size


def _live_batches(items: Iterator[object], budget: Budget) -> Iterator[Iterator[object]]:
    """Batches over a list's own iterator, each item read from the list only when the loop
    takes it (``live_batch_counts``)."""
    for count in live_batch_counts(items, budget):
        yield islice(items, count)


def live_batch_counts(items: Iterator[object], budget: Budget) -> Iterator[int]:
    """The size of each next batch over a list's own iterator ``items``: as many steps as
    it may hand over (no more than the list holds past the iterator's position now),
    charged before the caller walks it. A list the loop shortens ends its batch early
    (charged for items it did not take); items it appends are walked in the next batches,
    and the walk ends when Python's would: the iterator at the end."""
    for size in _batch_sizes(budget):
        count = min(size, operator.length_hint(items))
        if count <= 0:
            return
        budget.charge_steps(count)
        yield count


def walk_batches(source: Iterator[object], budget: Budget) -> Iterator[list[object]]:
    """The batches ``batched_walk`` yields the items of, each charged before it is handed
    over: for a caller that checks a whole batch at once (the sandbox's unpacking). Taken
    early, so only for a source nothing can change during the walk (an immutable
    container's iterator, a view's private snapshot), never a list."""
    for size in _batch_sizes(budget):
        batch = list(islice(source, size))
        if not batch:
            return
        budget.charge_steps(len(batch))
        yield batch
        if len(batch) < size:
            return  # a builtin iterator, once exhausted, stays so


class OutputBuffer:
    """The probe's captured output, never held beyond its cap."""

    __slots__ = ("_chunks", "_size", "max_bytes", "truncated")

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._chunks: list[bytes] = []
        self._size = 0
        self.truncated = False

    def write(self, text: str) -> None:
        if self.truncated:
            return
        room = self.max_bytes - self._size
        # A character is at least one byte, so never encode more characters than fit.
        data = text[: room + 1].encode("utf-8", "backslashreplace")
        if len(data) > room:
            # Cut on a character boundary so the kept part still decodes.
            data = data[:room].decode("utf-8", "ignore").encode("utf-8")
            self.truncated = True
        self._chunks.append(data)
        self._size += len(data)

    def restore(self, data: bytes, *, truncated: bool) -> None:
        """Take over output captured elsewhere (a forked child), still under the cap."""
        self._chunks = [data[: self.max_bytes]]
        self._size = len(self._chunks[0])
        self.truncated = truncated or len(data) > self.max_bytes

    def getvalue(self) -> bytes:
        return b"".join(self._chunks)

    def text(self) -> str:
        """The output as an operator reads it, with the truncation marker when cut."""
        body = self.getvalue().decode("utf-8", "replace")
        if self.truncated:
            body += TRUNCATION_MARKER.format(limit=self.max_bytes)
        return body


# Bound now, so a host that replaces os.open later cannot have its code run by a tick.
_os_open: Final = os.open
_os_read: Final = os.read
_os_close: Final = os.close


def _resident_pages() -> int | None:
    """The process's resident set in pages (statm's second field), or None without /proc.
    Plain os calls, no file object: this runs inside ticks."""
    try:
        fd = _os_open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return None
    try:
        fields = _os_read(fd, 128).split()
    except OSError:
        return None
    finally:
        _os_close(fd)
    if len(fields) < 2 or not fields[1].isdigit():
        return None
    return int(fields[1])
