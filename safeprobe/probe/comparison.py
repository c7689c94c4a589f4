"""What one comparison may cost in C, checked before it runs.

Promise: no single C call a probe makes compares for longer than about ``MAX_COMPARE_COST``
units (tens of milliseconds here), however its operands were built. ``==``, ``<``, ``in``,
``count``, ``index``, ``remove``, ``sort``, ``min``/``max`` and hashing a key walk their
operands element by element in one C call that no step tick can interrupt, and they walk the
*expanded* structure: ``[row] * 40_000`` is 40,000 references to one row, built in a
moment, but compared with an equal grid it is 40,000 row comparisons. So before such a call
the sandbox bounds its work with ``walk_cost`` (the most one C walk of a value can do,
aliases counted each time they are reached) and refuses, with a "limit" outcome, when the
bound is over the cap. Comparisons whose cost is bounded by one scalar (``i < n``,
``x == 5``, ``k in small_dict``) take a fast path that estimates nothing.
Threat model: SECURITY.md, "Time".
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from decimal import Decimal
from fractions import Fraction
from itertools import chain
from typing import Final, NoReturn, cast

from safeprobe.probe.budget import Budget
from safeprobe.probe.sizes import DICT_ITEM_BYTES, SET_ITEM_BYTES
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
_TICK_EVERY: Final = 4096
# The exponent of CPython's Karatsuba multiplication (log2 3), for a Fraction's products.
_KARATSUBA_EXPONENT: Final = 1.585
# Numbers whose comparison with anything, an int included, is as long as they are: a
# closed Fraction or Decimal holds integers as long as the host made them.
_SIZED_NUMBER_IDS: Final = frozenset({id(Fraction), id(Decimal)})
_RULE: Final = "comparison"

# Types whose comparison with anything is bounded by their own size, so a comparison with
# one of them on either side needs no estimate: numbers, strings (memcmp of at most the
# shorter one), ranges (compared by start, stop and step), views (by identity), None.
_LEAF_IDS: Final = frozenset(
    id(kind) for kind in (int, float, bool, complex, str, bytes, range, View, type(None))
)
# Below this many items the Python walk is as quick as flat_cost's C loops.
_FLAT_MIN_ITEMS: Final = 32
# Containers whose C comparison and hashing lookups walk their items.
_SEQUENCE_IDS: Final = frozenset({id(list), id(tuple)})
_HASHED_IDS: Final = frozenset({id(dict), id(set), id(frozenset)})
_CONTAINER_IDS: Final = _SEQUENCE_IDS | _HASHED_IDS


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
    if id(kind) in _CONTAINER_IDS:
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


def _int_to_decimal_cost(left: object, right: object) -> int:
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
            if not seen % _TICK_EVERY:
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
    if id(type(table)) not in _HASHED_IDS:
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


def _sized(value: object) -> int:
    return len(cast("list[object]", value))


class Comparisons:
    """The comparison guards of one attempt: the operators the compiler routes here and the
    cost checks of the methods and builtins that compare."""

    def __init__(
        self,
        budget: Budget,
        key: Callable[[object], object],
        *,
        cap: int = MAX_COMPARE_COST,
    ) -> None:
        self.budget = budget
        self.cap = cap
        self._key = key
        # The middle operand of a chained comparison, between its two links (compiler.py).
        self._held: object = None
        self._guards: dict[str, Callable[[object, object], object]] = {
            "==": self._rich(operator.eq, "=="),
            "!=": self._rich(operator.ne, "!="),
            "<": self._rich(operator.lt, "<"),
            "<=": self._rich(operator.le, "<="),
            ">": self._rich(operator.gt, ">"),
            ">=": self._rich(operator.ge, ">="),
            "in": self.contains,
            "not in": self.not_contains,
            "is": operator.is_,
            "is not": operator.is_not,
        }

    # -- the cost checks ----------------------------------------------------------------------

    def refuse(self, what: str) -> NoReturn:
        raise self.budget.stop(
            "limit",
            _RULE,
            f"{what} would compare more than {self.cap} elements in one C call",
        )

    def cost(self, value: object, cap: int | None = None) -> int:
        """``walk_cost`` under this attempt's cap and deadline."""
        return walk_cost(value, self.cap if cap is None else cap, self.budget.tick)

    def check_value(self, value: object, what: str, *, times: int = 1) -> None:
        """Refuse when walking ``value`` ``times`` over costs more than the cap."""
        allowed = self.cap // times
        if self.cost(value, allowed) > allowed:
            self.refuse(what)

    def check_pair(self, left: object, right: object, symbol: str) -> None:
        """``left <symbol> right`` costs at most the cheaper of the two walks."""
        left_id, right_id = id(type(left)), id(type(right))
        if left_id in _SIZED_NUMBER_IDS or right_id in _SIZED_NUMBER_IDS:
            # A Fraction or Decimal is costed by its length even against an int (which
            # the leaf test below would let through): its products are that long.
            if leaf_cost(left) + leaf_cost(right) + _int_to_decimal_cost(left, right) > self.cap:
                self.refuse(f"'{symbol}'")
            return
        if left_id in _LEAF_IDS or right_id in _LEAF_IDS:
            return
        if left_id in _HASHED_IDS and right_id in _HASHED_IDS:
            # Set and dict comparisons look every key of one up in the other, with no
            # identity shortcut (``s == s`` too): their hash groups bound the lookups.
            self.check_table(left, f"'{symbol}'")
            if right is not left:
                self.check_table(right, f"'{symbol}'")
        if left is right:
            return  # item by item, each pair identical: C's identity shortcut, len(left) steps
        if (
            symbol in ("==", "!=")
            and left_id == right_id
            and left_id in _CONTAINER_IDS
            and _sized(left) != _sized(right)
        ):
            return  # list, tuple, dict and set equality compare the lengths first
        first, second = (left, right) if _size_hint(left) <= _size_hint(right) else (right, left)
        bound = self.cost(first)
        if bound > self.cap and self.cost(second) > self.cap:
            self.refuse(f"'{symbol}'")

    def check_membership(self, item: object, container: object, what: str) -> None:
        """``item in container`` and the searches of list/tuple (count, index, remove)."""
        kind = type(container)
        if id(kind) in _HASHED_IDS:
            # One hash and the comparisons of an equal hash: the item's own walk.
            self._key(item)
            if id(type(item)) not in _LEAF_IDS:
                self.check_value(item, what)
        elif id(kind) in _SEQUENCE_IDS:
            size = _sized(container)
            each = leaf_cost(item)
            if each < 0:
                each = self.cost(item) if size else 0
            if size * each > self.cap and self.cost(container) > self.cap:
                self.refuse(what)
        elif (
            # range's own test is O(1) for exact ints only; any other value is compared
            # with every number of the range in turn (Objects/rangeobject.c).
            kind is range
            and type(item) is not int
            and type(item) is not bool
            and _range_length(cast(range, container)) > self.cap
        ):
            self.refuse(what)

    def check_sort(self, items: object, what: str) -> None:
        """A sort of n items compares about n·log2(n) pairs: log2(n + 2) walks of the list."""
        rounds = max(1, math.ceil(math.log2(_sized(items) + 2)))
        self.check_value(items, what, times=rounds)

    def check_prefixes(self, text: object, prefixes: object, what: str) -> None:
        """str/bytes.startswith/endswith with a tuple: one memcmp per prefix."""
        if type(prefixes) is not tuple:
            return
        own = leaf_cost(text)
        total = _sized(prefixes)
        for index, prefix in enumerate(cast("tuple[object, ...]", prefixes)):
            if not (index + 1) % _TICK_EVERY:
                self.budget.tick()
            total += min(own, max(leaf_cost(prefix), 1))
            if total > self.cap:
                self.refuse(what)

    def keyed(
        self, function: Callable[[object], object], count: int, what: str
    ) -> Callable[[object], object]:
        """A sort or min/max key, whose results C compares: their walks add up, so the sum
        is checked as they come (times log2(n + 2) for a sort of ``count`` items)."""
        rounds = max(1, math.ceil(math.log2(count + 2))) if count else 1
        budget = self.cap // rounds
        spent = 0

        def key(value: object) -> object:
            nonlocal spent
            # C calls the key once per item with no step between: a probe's own function
            # ticks when called, a builtin (``key=d.get``) does not, and 100,000 slow
            # calls are then one C call of seconds. A step each stops it at the deadline.
            self.budget.tick()
            result = function(value)
            spent += self.cost(result, budget - spent)
            if spent > budget:
                self.refuse(what)
            return result

        return key

    def check_keys(self, items: list[object], what: str) -> int:
        """Keys hashed in one C call (set(), frozenset(), update()): an equal-hashed pair is
        compared, so their walks add up, and keys sharing one hash are compared with each
        other (check_hash_groups, whose count of such keys is returned)."""
        spent = 0
        for item in items:
            if id(type(item)) in _LEAF_IDS:
                continue
            spent += self.cost(item, self.cap - spent)
            if spent > self.cap:
                self.refuse(what)
        return self.check_hash_groups(items, what, distinct=False)

    def check_hash_groups(self, items: Collection[object], what: str, *, distinct: bool) -> int:
        """Refuse hashing ``items`` into one table (or looking each up in a table of them)
        when keys that share a hash would be compared with each other more than the cap
        allows, and return how many of them share a hash with another.

        Hash flooding (Crosby and Wallach, USENIX Security 2003): g distinct keys of one
        hash (ints equal modulo 2**61 - 1; CPython randomises only str and bytes hashes)
        cost g²/2 comparisons in one C call, ~5 s for 20,000 ints, whatever their walks
        cost. Counting keys per hash is one C pass; a group is charged g² units (the
        comparisons of building it, and of looking its keys up in an equal table).
        ``distinct``: the items are a table's keys, so no two are equal. Otherwise a group
        may be equal keys (100,000 copies of "GET"), each costing one comparison, which
        counting hashes cannot tell from a flood; so the keys are then put into a table in
        chunks, each small enough that it compares at most ``cap`` pairs whatever they are
        (``k * (seen + k)``), with a step between, and the table of distinct keys is
        counted again. A flood of distinct keys thus spends the deadline in steps; equal
        keys go in a few large chunks. Only probe values reach here (a view hashes by
        identity): no host code runs."""
        if len(items) < 2:
            return 0
        self.budget.tick()
        if len(set(map(hash, items))) == len(items):
            return 0  # every hash distinct: nothing compared, the usual case
        groups = Counter(map(hash, items))
        shared = len(items) - len(groups)
        counts = groups.values()
        if sum(map(operator.mul, counts, counts)) <= self.cap:
            return shared
        if distinct:
            self.refuse(f"{what} (keys sharing one hash)")
        seen: set[object] = set()
        pending = list(items)
        start = 0
        while start < len(pending):
            self.budget.tick()
            held = len(seen)
            # The largest k with k * (held + k) <= a quarter of the cap: every key of the
            # chunk is compared at most with all keys held and all before it in the chunk,
            # and a comparison of colliding keys inside a table costs ~20 ns, twice a unit.
            bound = self.cap // 4
            chunk = max(1, int((math.isqrt(held * held + 4 * bound) - held) // 2))
            seen.update(pending[start : start + chunk])
            start += chunk
        self.check_hash_groups(seen, what, distinct=True)
        return shared

    def check_lookups(self, table: object, keys: Collection[object], what: str) -> None:
        """``keys`` each looked up in (or added to) ``table`` in one C call: each is compared
        with every key of ``table`` in its hash group, so the cost is the sum, over the
        keys, of their group's size there. Needed when the keys share hashes (copies of one
        key are cheap among themselves, not against a table's group of 2,000); keys of
        distinct hashes meet one group each, less than the table's own build cost."""
        if id(type(table)) not in _HASHED_IDS or not keys:
            return
        self.budget.tick()
        if len(set(map(hash, keys))) == len(keys):
            return  # distinct hashes: no need to count the table's groups
        if not hash_group_cost(table):
            return  # every group of one: a lookup compares at most one key
        incoming = Counter(map(hash, keys))
        groups = Counter(map(hash, cast("Collection[object]", table)))
        spent = 0
        for code, count in incoming.items():
            spent += count * groups.get(code, 0)
            if spent > self.cap:
                self.refuse(f"{what} (keys sharing one hash)")

    def check_table(self, table: object, what: str) -> None:
        """Every key of a set, frozenset or dict looked up in another table (``==``,
        ``<=``, ``| & - ^``, ``{**d}``): its hash groups (check_hash_groups)."""
        if id(type(table)) in _HASHED_IDS:
            self.check_hash_groups(cast("Collection[object]", table), what, distinct=True)

    def check_set_operation(self, left: object, right: object, symbol: str) -> None:
        """``| & - ^`` of two sets (or ``|`` of two dicts): each item of one is looked up in
        the other, and compared with any equal, distinct one found there."""
        left_id, right_id = id(type(left)), id(type(right))
        if left_id not in _HASHED_IDS or right_id not in _HASHED_IDS:
            return  # ints, bools: bitwise, constant cost
        spent = self.cost(left)
        if spent > self.cap or spent + self.cost(right, self.cap - spent) > self.cap:
            self.refuse(f"'{symbol}'")
        # A key of one hash group is compared with every key of that group in the other:
        # at most the sum of both sides' g² (check_hash_groups).
        self.check_table(left, f"'{symbol}'")
        self.check_table(right, f"'{symbol}'")
        # The result is a new table: at most both operands' items for | and ^, the left's
        # for - and & (a slot each, at what CPython allocates: sizes.py), charged first.
        held = len(left)  # type: ignore[arg-type]  # a set, frozenset or dict (checked above)
        if symbol in {"|", "^"}:
            held += len(right)  # type: ignore[arg-type]
        per_item = DICT_ITEM_BYTES if type(left) is dict else SET_ITEM_BYTES
        self.budget.check_items(held, f"'{symbol}'", item_bytes=per_item)

    def set_operators(self) -> dict[str, Callable[[object, object], object]]:
        def guard(
            function: Callable[[object, object], object], symbol: str
        ) -> Callable[..., object]:
            def operate(left: object, right: object) -> object:
                self.check_set_operation(left, right, symbol)
                return function(left, right)

            return operate

        return {
            "_or_": guard(operator.or_, "|"),
            "_and_": guard(operator.and_, "&"),
            "_sub_": guard(operator.sub, "-"),
            "_xor_": guard(operator.xor, "^"),
        }

    # -- the operators (globals the compiler's code calls) ------------------------------------

    def operators(self) -> dict[str, Callable[..., object]]:
        guards = self._guards
        return {
            "_eq_": guards["=="],
            "_ne_": guards["!="],
            "_lt_": guards["<"],
            "_le_": guards["<="],
            "_gt_": guards[">"],
            "_ge_": guards[">="],
            "_in_": self.contains,
            "_not_in_": self.not_contains,
            "_link_": self.link,
            "_held_": self.held,
            **self.set_operators(),
        }

    def _rich(self, function: Callable[..., object], symbol: str) -> Callable[..., object]:
        check = self.check_pair

        def compare(left: object, right: object) -> object:
            # The fast path, inlined: a number, string or view on either side bounds it;
            # the commonest kinds are tested first, by identity, before the set of ids.
            kind = type(left)
            right_id = id(type(right))
            if (
                kind is int
                or kind is str
                or kind is float
                or id(kind) in _LEAF_IDS
                or right_id in _LEAF_IDS
            ) and (right_id not in _SIZED_NUMBER_IDS and id(kind) not in _SIZED_NUMBER_IDS):
                return function(left, right)
            check(left, right, symbol)
            return function(left, right)

        return compare

    def contains(self, item: object, container: object) -> bool:
        kind = type(container)
        if kind is dict or kind is set or kind is frozenset:
            item_kind = type(item)
            if item_kind is int or item_kind is str or id(item_kind) in _LEAF_IDS:
                return item in container  # type: ignore[operator]
        elif kind is str or kind is bytes or kind is View:
            # Substring search is linear in the text; a view compares scalars only
            # (proxy._plain_equal) and hashes plain keys only.
            return item in container  # type: ignore[operator]
        self.check_membership(item, container, "'in'")
        return item in container  # type: ignore[operator]

    def not_contains(self, item: object, container: object) -> bool:
        return not self.contains(item, container)

    def link(self, symbol: str, left: object, right: object) -> object:
        """One link of a chained comparison ``a < b < c``: compared, and ``right`` kept for
        the next link, which takes it with ``held()`` (so it is evaluated once)."""
        self._held = right
        return self._guards[symbol](left, right)

    def held(self) -> object:
        value, self._held = self._held, None
        return value

    # -- methods of the probe's own values that compare ----------------------------------------

    def method(
        self, obj: object, name: str, method: Callable[..., object]
    ) -> Callable[..., object] | None:
        """``method`` (``obj.name``) behind its cost check, or None when it needs none."""
        kind = type(obj)
        what = f"{kind.__name__}.{name}()"
        if name in ("count", "index", "remove") and (
            kind is list or kind is tuple or kind is range
        ):

            def search(value: object, *args: object) -> object:
                self.check_membership(value, obj, what)
                return method(value, *args)

            return search
        if name == "sort" and kind is list:

            def sort(*, key: object = None, reverse: object = False) -> object:
                if key is None:
                    self.check_sort(obj, what)
                else:
                    key = self.keyed(cast(Callable[[object], object], key), _sized(obj), what)
                return method(key=key, reverse=reverse)

            return sort
        if name in ("startswith", "endswith") and (kind is str or kind is bytes):

            def affix(prefix: object, *args: object) -> object:
                self.check_prefixes(obj, prefix, what)
                return method(prefix, *args)

            return affix
        return None


COMPARING_METHOD_NAMES: Final = frozenset(
    {"count", "index", "remove", "sort", "startswith", "endswith"}
)


def _size_hint(value: object) -> int:
    return _sized(value) if id(type(value)) in _CONTAINER_IDS else 0


def _range_length(span: range) -> int:
    try:
        return len(span)
    except OverflowError:  # longer than sys.maxsize
        return abs(span.stop - span.start) // max(abs(span.step), 1)
