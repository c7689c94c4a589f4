"""What one C walk of a probe's value can cost: the comparison cost model, pure.

Promise: ``walk_cost`` is an upper bound of the element comparisons one C call (``==``,
``<``, ``in``, a sort, hashing a key) can make walking a value, counting the *expanded*
structure (``[row] * 40_000`` is 40,000 row walks) while taking time only in its distinct
containers, and ticking so the estimate itself stops at the deadline; ``hash_group_cost``
adds what keys sharing a hash cost a lookup. No host code runs: only the probe's own values
are walked, and types are tested by identity. The guards that use it: comparison.py.
Threat model: SECURITY.md, "Time".
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from decimal import Decimal
from fractions import Fraction
from itertools import chain
from typing import Final, cast

from safeprobe.probe.values import decimal_digits
from safeprobe.probe.views import View

# One unit is about one element comparison. Measured on this project's 2-core runner
# (CPython 3.11): the slowest shapes per unit are equal, distinct floats or short strings
# in a list (~9 ns), and sorting lists of one-element lists (~14 ns per sort unit, below);
# 4,000,000 units keeps one call near 40 ms, far below any timeout a policy sets, while
# comparing or sorting 100,000 numbers (the default item cap) still fits.
MAX_COMPARE_COST: Final = 4_000_000
# A container costs this much on its own beyond its items: comparing two small lists pays
# a type dispatch and a length check before any element (measured: ~4 element compares).
_CONTAINER_COST: Final = 4
# memcmp runs about 64 bytes in the time of one element comparison; an int's digits compare
# about 128 bits in that time.
_BYTES_PER_UNIT_SHIFT: Final = 6
_BITS_PER_UNIT_SHIFT: Final = 7
# The estimate is Python code: it checks the deadline this often, so estimating a huge
# structure is itself interruptible.
TICK_EVERY: Final = 4096
# The exponent of CPython's Karatsuba multiplication (log2 3), for a Fraction's products.
_KARATSUBA_EXPONENT: Final = 1.585
# Numbers whose comparison with anything, an int included, is as long as they are: a
# closed Fraction or Decimal holds integers as long as the host made them.
SIZED_NUMBER_IDS: Final = frozenset({id(Fraction), id(Decimal)})

# Types whose comparison with anything is bounded by their own size, so a comparison with
# one of them on either side needs no estimate: numbers, strings (memcmp of at most the
# shorter one), ranges (compared by start, stop and step), views (by identity), None.
LEAF_IDS: Final = frozenset(
    id(kind) for kind in (int, float, bool, complex, str, bytes, range, View, type(None))
)
# Below this many items the Python walk is as quick as flat_cost's C loops.
_FLAT_MIN_ITEMS: Final = 32
# Containers whose C comparison and hashing lookups walk their items.
SEQUENCE_IDS: Final = frozenset({id(list), id(tuple)})
HASHED_IDS: Final = frozenset({id(dict), id(set), id(frozenset)})
CONTAINER_IDS: Final = SEQUENCE_IDS | HASHED_IDS


def leaf_cost(value: object) -> int:
    """The cost of comparing ``value`` when it holds no other values; -1 for a container."""
    kind = type(value)
    if kind is int:
        return 1 + (cast(int, value).bit_length() >> _BITS_PER_UNIT_SHIFT)
    if kind is str:
        text = cast(str, value)
        # isascii() is O(1) for str; a non-ASCII string may take up to 4 bytes a character.
        size = len(text) if text.isascii() else 4 * len(text)
        return 1 + (size >> _BYTES_PER_UNIT_SHIFT)
    if kind is bytes:
        return 1 + (len(cast(bytes, value)) >> _BYTES_PER_UNIT_SHIFT)
    if id(kind) in CONTAINER_IDS:
        return -1
    if kind is Fraction:
        # Fractions compare by cross-multiplying (fractions.py, _richcmp): two products of
        # the operands' integers, superlinear in their length (Karatsuba, ~n**1.585).
        # Measured here: two Fractions of 2 x 400,000 bits compare in ~76 ms, 7.6M units,
        # which four times this per side (8 for the pair) matches.
        fraction = cast(Fraction, value)
        bits = fraction.numerator.bit_length() + fraction.denominator.bit_length()
        return 1 + 4 * int((bits >> _BITS_PER_UNIT_SHIFT) ** _KARATSUBA_EXPONENT)
    if kind is Decimal:
        # libmpdec aligns two coefficients digit by digit: linear in the longer one.
        return 1 + (decimal_digits(cast(Decimal, value)) >> _BYTES_PER_UNIT_SHIFT)
    # float, bool, None, complex, range, views, functions, fact records (eq=False) and
    # exceptions compare in constant time or by identity.
    return 1


def int_to_decimal_cost(left: object, right: object) -> int:
    """What a Decimal compared with an int pays first: libmpdec converts the int, in time
    quadratic in its length (a 3,000,000-bit int: ~15 s; measured ~3 units per (bits/128)**2).
    """
    if type(left) is Decimal and type(right) is int:
        bits = right.bit_length()
    elif type(right) is Decimal and type(left) is int:
        bits = left.bit_length()
    else:
        return 0
    return 3 * (bits >> _BITS_PER_UNIT_SHIFT) ** 2


def walk_cost(value: object, cap: int, tick: Callable[[], None]) -> int:
    """An upper bound of the work one C walk of ``value`` can do, or ``cap + 1`` once it is
    over ``cap``: a container costs ``_CONTAINER_COST + len`` plus the cost of each item
    each time it is reached, a cycle counts as over the cap. Shared containers are walked
    once (memoised by id), so this takes time in the *distinct* items, never the expanded
    size; and it stops as soon as the sum passes ``cap``."""
    cost = leaf_cost(value)
    if cost >= 0:
        return cost
    quick = flat_cost(value)
    if quick is not None and quick <= cap:
        return quick
    return _walk(value, cap, tick)


def _walk(value: object, cap: int, tick: Callable[[], None]) -> int:
    """walk_cost of a container, item by item, depth first without recursion."""
    done: dict[int, int] = {}
    open_ids: set[int] = {id(value)}
    stack: list[list[object]] = [_frame(value)]
    seen = 0
    while stack:
        frame = stack[-1]
        items = cast(Iterator[object], frame[1])
        total = cast(int, frame[2])
        child_frame: list[object] | None = None
        for child in items:
            seen += 1
            if not seen % TICK_EVERY:
                tick()
            cost = leaf_cost(child)
            if cost < 0:
                ident = id(child)
                known = done.get(ident)
                if known is None:
                    if ident in open_ids:
                        return cap + 1  # a cycle: C would recurse until RecursionError
                    known = flat_cost(child) or _small_flat_cost(child)
                    if known is None or total + known > cap:
                        child_frame = _frame(child)
                        break
                    done[ident] = known
                cost = known
            total += cost
            if total > cap:
                return cap + 1
        frame[2] = total
        if child_frame is not None:
            if cast(int, child_frame[2]) > cap:
                return cap + 1
            open_ids.add(cast(int, child_frame[0]))
            stack.append(child_frame)
            continue
        stack.pop()
        ident = cast(int, frame[0])
        open_ids.discard(ident)
        done[ident] = total
        if not stack:
            return total
        parent = stack[-1]
        parent[2] = cast(int, parent[2]) + total
        if cast(int, parent[2]) > cap:
            return cap + 1
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns


def hash_group_cost(table: object) -> int:
    """What looking the keys of a set, frozenset or dict up in an equal table adds to its
    walk: g² for each hash shared by g > 1 of its keys (hash flooding, check_hash_groups),
    0 for anything else or when every hash is distinct. One C pass over cached hashes (a
    tuple's is recomputed, at the cost of the walk of it that follows)."""
    if id(type(table)) not in HASHED_IDS:
        return 0
    keys = cast("Collection[object]", table)
    # A set of the hashes first: quicker than counting them (~40%), and enough when every
    # hash is distinct, the usual case. Hash values are ints that hash as themselves, so
    # neither table can be flooded.
    if len(set(map(hash, keys))) == len(keys):
        return 0
    groups = Counter(map(hash, keys))
    counts = [count for count in groups.values() if count > 1]
    return sum(map(operator.mul, counts, counts))


def flat_cost(container: object) -> int | None:
    """The walk cost of a list, tuple or set of ints, floats, strings or bytes only, by C
    loops: an upper bound from the largest item, so the walk in Python over each item is
    needed only when that bound is too high. None for anything else, or a container short
    enough that the Python walk is as quick."""
    if type(container) is dict or len(cast("list[object]", container)) < _FLAT_MIN_ITEMS:
        return None
    items = cast("list[object]", container)
    for each_cost in _FLAT_ITEM_COSTS:
        try:
            each = each_cost(items)
        except TypeError:  # an item of another type: the unbound method refuses it
            continue
        # A set of colliding ints is flat too: its lookups in an equal set cost its groups.
        return _CONTAINER_COST + len(items) + len(items) * each + hash_group_cost(items)
    return None


def _small_flat_cost(container: object) -> int | None:
    """The walk cost of a short list or tuple of scalars, without a frame of its own: many
    small rows ([x, y] pairs, one-item lists) are the common shape, and a frame each is
    most of the walk's time. None if it holds a container (or is a dict or a set)."""
    kind = type(container)
    if kind is not list and kind is not tuple:
        return None
    items = cast("list[object]", container)
    total = _CONTAINER_COST + len(items)
    for item in items:
        cost = leaf_cost(item)
        if cost < 0:
            return None
        total += cost
    return total


# Each takes all the items or raises TypeError at the first that is not of its type: an
# unbound method of a builtin type accepts only that type (or a subclass, whose method of
# the same name it does not call), so none of these runs any other code.
def _int_items(items: list[object]) -> int:
    bits = max(map(int.bit_length, cast("list[int]", items)))
    return 1 + (bits >> _BITS_PER_UNIT_SHIFT)


def _str_items(items: list[object]) -> int:
    texts = cast("list[str]", items)
    longest = max(map(str.__len__, texts))
    # A non-ASCII string may take up to 4 bytes a character (isascii() is O(1)).
    width = 1 if all(map(str.isascii, texts)) else 4
    return 1 + ((width * longest) >> _BYTES_PER_UNIT_SHIFT)


def _bytes_items(items: list[object]) -> int:
    return 1 + (max(map(bytes.__len__, cast("list[bytes]", items))) >> _BYTES_PER_UNIT_SHIFT)


def _float_items(items: list[object]) -> int:
    sum(map(float.is_integer, cast("list[float]", items)))
    return 1


_FLAT_ITEM_COSTS: Final = (_int_items, _str_items, _float_items, _bytes_items)


def _frame(container: object) -> list[object]:
    """[id, iterator over what C compares, cost so far] of one container being walked."""
    size = len(cast("list[object]", container))
    if type(container) is dict:
        items: Iterator[object] = chain.from_iterable(
            cast("dict[object, object]", container).items()
        )
    else:
        items = iter(cast("list[object]", container))
    return [id(container), items, _CONTAINER_COST + size + hash_group_cost(container)]
