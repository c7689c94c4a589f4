"""What one comparison may cost in C, checked before it runs.

Promise: no single C call a probe makes compares for longer than about ``MAX_COMPARE_COST``
units (tens of milliseconds here), however its operands were built. ``==``, ``<``, ``in``,
``count``, ``index``, ``remove``, ``sort``, ``min``/``max`` and hashing a key walk their
operands element by element in one C call that no step tick can interrupt, and they walk the
*expanded* structure: ``[row] * 40_000`` is 40,000 references to one row, built in a
moment, but compared with an equal grid it is 40,000 row comparisons. So before such a call
the sandbox bounds its work with ``walk_cost`` (the most one C walk of a value can do,
aliases counted each time they are reached) and refuses, with a "limit" outcome, when the
bound is over the cap (the cost model: comparison_cost.py). Comparisons whose cost is bounded
by one scalar (``i < n``, ``x == 5``, ``k in small_dict``) take a fast path that estimates
nothing.
Threat model: SECURITY.md, "Time".
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from collections.abc import Callable, Collection
from typing import Final, NoReturn, cast

from safeprobe.probe.budget import Budget
from safeprobe.probe.comparison_cost import (
    CONTAINER_IDS,
    HASHED_IDS,
    LEAF_IDS,
    MAX_COMPARE_COST,
    SEQUENCE_IDS,
    SIZED_NUMBER_IDS,
    TICK_EVERY,
    hash_group_cost,
    int_to_decimal_cost,
    leaf_cost,
    walk_cost,
)
from safeprobe.probe.sizes import DICT_ITEM_BYTES, SET_ITEM_BYTES
from safeprobe.probe.views import View

_RULE: Final = "comparison"


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
        if left_id in SIZED_NUMBER_IDS or right_id in SIZED_NUMBER_IDS:
            # A Fraction or Decimal is costed by its length even against an int (which
            # the leaf test below would let through): its products are that long.
            if leaf_cost(left) + leaf_cost(right) + int_to_decimal_cost(left, right) > self.cap:
                self.refuse(f"'{symbol}'")
            return
        if left_id in LEAF_IDS or right_id in LEAF_IDS:
            return
        if left_id in HASHED_IDS and right_id in HASHED_IDS:
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
            and left_id in CONTAINER_IDS
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
        if id(kind) in HASHED_IDS:
            # One hash and the comparisons of an equal hash: the item's own walk.
            self._key(item)
            if id(type(item)) not in LEAF_IDS:
                self.check_value(item, what)
        elif id(kind) in SEQUENCE_IDS:
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
            if not (index + 1) % TICK_EVERY:
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
            if id(type(item)) in LEAF_IDS:
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
        if id(type(table)) not in HASHED_IDS or not keys:
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
        if id(type(table)) in HASHED_IDS:
            self.check_hash_groups(cast("Collection[object]", table), what, distinct=True)

    def check_set_operation(self, left: object, right: object, symbol: str) -> None:
        """``| & - ^`` of two sets (or ``|`` of two dicts): each item of one is looked up in
        the other, and compared with any equal, distinct one found there."""
        left_id, right_id = id(type(left)), id(type(right))
        if left_id not in HASHED_IDS or right_id not in HASHED_IDS:
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
                or id(kind) in LEAF_IDS
                or right_id in LEAF_IDS
            ) and (right_id not in SIZED_NUMBER_IDS and id(kind) not in SIZED_NUMBER_IDS):
                return function(left, right)
            check(left, right, symbol)
            return function(left, right)

        return compare

    def contains(self, item: object, container: object) -> bool:
        kind = type(container)
        if kind is dict or kind is set or kind is frozenset:
            item_kind = type(item)
            if item_kind is int or item_kind is str or id(item_kind) in LEAF_IDS:
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
    return _sized(value) if id(type(value)) in CONTAINER_IDS else 0


def _range_length(span: range) -> int:
    try:
        return len(span)
    except OverflowError:  # longer than sys.maxsize
        return abs(span.stop - span.start) // max(abs(span.step), 1)
