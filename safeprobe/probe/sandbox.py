"""The namespace a probe sees and RestrictedPython's guard hooks it points to.

Promise: the only objects a probe can reach are its own values (builtin types it built), the
exposures as read-only views, the facts (frozen records of plain data), the safe builtins
below, and the exception classes it may catch. Every attribute read goes through
``guarded_getattr``, which allows a short list of methods per builtin type, the fields of
fact records, and nothing else; every builtin that would iterate in C walks a
guarded, ticking iterator under the item cap instead; every comparison, search, sort and
bulk hashing of keys has its C cost checked first (comparison.py); writes are allowed only
to the probe's own lists, dicts and sets. The guards live here; the builtins
(safe_builtins.py), the methods of the probe's own values (own_methods.py), formatting
(formatting.py), print (printing.py) and the guarded walks (walks.py) are collaborators each
attempt's Sandbox builds.
Threat model: SECURITY.md, "Code", "Host state", "Memory" and "Time".
"""

from __future__ import annotations

import operator
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass, replace
from typing import Final, NoReturn, cast

from safeprobe.errors import ProbeDenied
from safeprobe.probe.budget import (
    Budget,
    OutputBuffer,
)
from safeprobe.probe.comparison import COMPARING_METHOD_NAMES, Comparisons
from safeprobe.probe.containers import BUFFER_BYTES_METHODS, KIND_BUFFER
from safeprobe.probe.facts.records import FACT_FIELDS
from safeprobe.probe.formatting import Formatting
from safeprobe.probe.own_methods import (
    SAFE_METHODS,
    SIZED_METHOD_NAMES,
    OwnMethods,
    allowed_names,
    sized_names,
    type_ids,
)
from safeprobe.probe.planned_reads import planned_getattr
from safeprobe.probe.printing import Printer
from safeprobe.probe.render import RenderLimits
from safeprobe.probe.safe_builtins import Builtins
from safeprobe.probe.scalars import is_scalar
from safeprobe.probe.sizes import (
    POINTER_BYTES,
    SET_ITEM_BYTES,
    char_item_bytes,
    range_item_bytes,
    sized_bytes,
    str_width,
)
from safeprobe.probe.top_level import export_locals, prebound
from safeprobe.probe.value_access import ValueAccess
from safeprobe.probe.values import ENUM_READS, enum_data, is_closed
from safeprobe.probe.views import View
from safeprobe.probe.walks import Walks


@dataclass(slots=True)
class AttemptState:
    """What guards learn during one attempt: the first refusal decides the outcome even
    when the probe catches the exception."""

    budget: Budget
    output: OutputBuffer
    render_limits: RenderLimits
    denial: ProbeDenied | None = None

    def __post_init__(self) -> None:
        # Every rendering in this attempt (print, str, repr, formatting, a view's repr)
        # takes a step per node, so a structure of slow nodes stops at the deadline. The
        # quiet tick never raises: the same renderer words the audit's error detail.
        if self.render_limits.meter is None:
            self.render_limits = replace(self.render_limits, meter=self.budget.tick_quietly)

    def record_denial(self, error: ProbeDenied) -> None:
        if self.denial is None:
            self.denial = error

    def deny(self, rule: str, problem: str) -> NoReturn:
        error = ProbeDenied(rule, problem)
        self.record_denial(error)
        raise error


class Sandbox:
    """Builds the globals of one attempt and owns the guard hooks they point to."""

    def __init__(self, state: AttemptState) -> None:
        self.state = state
        self.budget = state.budget
        self.walks = Walks(self.budget)
        self.comparisons = Comparisons(self.budget, self.key)
        self.values = ValueAccess(self.budget, self.state.deny)
        self._set_difference = self.comparisons.set_operators()["_sub_"]
        self.methods = OwnMethods(self)
        self.formatting = Formatting(self)
        self._builtins = Builtins(self).names

    # -- iteration and sizes --------------------------------------------------------------

    def guarded_iter(self, obj: object) -> Iterator[object]:
        """A walk of ``obj`` that costs a step per item (walks.py)."""
        return self.walks.guarded_iter(obj)

    def materialize(self, obj: object, what: str, *, item_bytes: int = 0) -> list[object]:
        """A list of the items, walked under the step budget and the item cap. A builtin
        container is copied in one C call, so it is charged first: a slot per item, what
        each item the walk makes costs (an int of a range, a character of a wide string),
        and ``item_bytes`` more per item for what the caller builds from the list."""
        kind = type(obj)
        if (
            kind is list
            or kind is tuple
            or kind is dict
            or kind is set
            or kind is frozenset
            or kind is str
            or kind is bytes
            or kind is range
        ):
            try:
                size = len(obj)  # type: ignore[arg-type]
            except OverflowError:
                size = self.budget.max_items + 1
            made = 0
            if kind is range:
                made = range_item_bytes(cast("range", obj))
            elif kind is str:
                made = char_item_bytes(cast("str", obj))
            self.budget.check_items(size, what, item_bytes=made + item_bytes)
            return list(cast("Iterable[object]", obj))
        items: list[object] = []
        for item in self.guarded_iter(obj):
            items.append(item)
            if len(items) > self.budget.max_items:
                self.budget.check_items(len(items), what)
        # Built a step at a time (each item was ticked, and the RSS backstop sampled); the
        # list and what the caller builds from it are charged now.
        self.budget.check_items(len(items), what, item_bytes=item_bytes)
        return items

    # -- guard hooks RestrictedPython calls ------------------------------------------------

    def guarded_getattr(self, obj: object, name: str) -> object:
        if (
            type(obj) is View
            and type(name) is str
            and not name.startswith("_")
            and name not in BUFFER_BYTES_METHODS
        ):
            return obj.sp_getattr(name)  # the common read first: a host object's attribute
        return self._getattr_of_value(obj, name)

    def _getattr_of_value(self, obj: object, name: str) -> object:
        if type(name) is str:
            plain = _PLAIN_READS.get(id(type(obj)))
            if plain is not None and name in plain:
                return getattr(obj, name)  # list.append, str.lower …: nothing to bound
        if type(name) is not str or name.startswith("_"):
            self.state.deny("attribute", "names starting with '_' are not available")
        if type(obj) is View:
            if name in BUFFER_BYTES_METHODS and obj.sp_kind == KIND_BUFFER:
                # A bytearray's decode, find …: bytes' own, on a charged copy, so the same
                # guards hold (codecs, sizes) and the result is what bytes' would be.
                return self.guarded_getattr(obj.sp_bytes(), name)
            return obj.sp_getattr(name)
        kind = type(obj)
        allowed = allowed_names(kind)
        if allowed is None and is_closed(obj):
            return self._closed_getattr(obj, name)
        if allowed is None or name not in allowed:
            self.state.deny(
                "attribute", f"'{name}' of {kind.__name__} values is not available to probes"
            )
        if name in COMPARING_METHOD_NAMES:
            checked = self.methods.comparing(obj, name)
            if checked is not None:
                return checked
        if name not in SIZED_METHOD_NAMES:
            return getattr(obj, name)  # append, lower …: nothing to bound
        sized = self.methods.sized(obj, name)
        if sized is not None:
            if type(sized) is types.FunctionType:
                # Named as the method it stands for, not "OwnMethods.sized.<locals>".
                sized.__name__ = name
                sized.__qualname__ = f"{kind.__name__}.{name}"
            return sized
        return getattr(obj, name)

    def _closed_getattr(self, obj: object, name: str) -> object:
        data = enum_data(obj) if name not in ENUM_READS else None
        if data is not None:
            return self.guarded_getattr(data, name)  # a StrEnum's upper(), split() …
        found = self.values.getattr(obj, name)  # a datetime, Decimal, enum member …
        if name in COMPARING_METHOD_NAMES and callable(found):
            # range.count/index of a non-int compare with every number in one C call:
            # the same cost check as a list's (comparison.py).
            checked = self.comparisons.method(obj, name, found)
            if checked is not None:
                checked.__name__ = name
                return checked
        return found

    def guarded_getitem(self, obj: object, key: object) -> object:
        if type(obj) is View:
            return obj.sp_getitem(self.key(key))
        kind = type(obj)
        if type(key) is slice and (kind is str or kind is bytes or kind is list or kind is tuple):
            # A slice copies up to its source's size in one step: charged before it is
            # made, from its length (range() does the slice arithmetic in O(1)), or a loop
            # of s[i:] over a 16 MB string fills the host's memory uncounted.
            count = len(range(_len(obj))[key])
            self._check_sequence(obj, count, "a slice")
            return obj[key]  # type: ignore[index]
        return obj[self.key(key)]  # type: ignore[index]

    # -- keys: CPython's tuple hash recurses in C without a guard (gh-154318) ---------------

    def key(self, value: object) -> object:
        """Pass ``value`` on to be hashed, unless it is a tuple nested too deep to hash."""
        if type(value) is tuple:
            self._check_tuple_depth(value)
            # Found in a dict or set, an equal key is compared with it in the same call.
            self.comparisons.check_value(value, "a key")
        elif type(value) is slice:
            # Hashable from Python 3.12: its parts are hashed with it.
            self._check_tuple_depth((value.start, value.stop, value.step))
        return value

    def keys(self, iterable: object) -> list[object]:
        """Each item of ``iterable`` checked as a key (``{*x}``, set(), dict pairs …), and
        charged a hash-table slot each for the set or dict they go into."""
        items = self.materialize(iterable, "keys", item_bytes=SET_ITEM_BYTES)
        for item in items:
            if type(item) is tuple:
                self._check_tuple_depth(item)
        # All of them are hashed in one C call, each compared with any equal one before it
        # and with any other of its hash (check_keys).
        self.comparisons.check_keys(items, "keys")
        return items

    def table(self, value: object) -> object:
        """``**value`` in a dict display: passed on once its hash groups are checked and
        the copy of its table the display makes is charged."""
        self.comparisons.check_table(value, "{**...}")
        if type(value) is dict:
            self.budget.check_bytes(sys.getsizeof(value), "{**...}")
        return value

    def kwargs(self, value: object) -> object:
        """``**value`` in a call: each copy of its table is charged before the call."""
        if type(value) is dict:
            self.budget.check_bytes(KWARGS_COPIES * sys.getsizeof(value), "**-unpacking")
        return value

    def _check_tuple_depth(self, value: tuple[object, ...]) -> None:
        # Iterative, so the check itself cannot overflow. It walks the tuple as the hash
        # will, shared parts once per use: x = (x, x) twenty times is a million nodes to
        # hash, so the walk is capped by count as well as by depth.
        # One step per key: hashing a key of 100,000 parts is a millisecond in C, and a
        # set of thousands of them must still stop at the deadline between keys.
        self.budget.tick()
        stack: list[tuple[tuple[object, ...], int]] = [(value, 1)]
        nodes = 0
        while stack:
            current, depth = stack.pop()
            nodes += len(current)
            if depth > MAX_KEY_DEPTH or nodes > MAX_KEY_NODES:
                self.state.deny(
                    "key-depth",
                    f"a tuple nested deeper than {MAX_KEY_DEPTH} or with more than "
                    f"{MAX_KEY_NODES} parts in all cannot be a key",
                )
            stack.extend((item, depth + 1) for item in current if type(item) is tuple)

    def guarded_write(self, obj: object) -> object:
        # RestrictedPython's own write guard lets every dict and list through; ours may,
        # because host containers never reach a probe except as views.
        if type(obj) is list:
            # A slice store can grow a list in one C call (``xs[:0] = xs`` doubles it), so
            # lists are written through a writer that charges what a slice brings in.
            return _ListWriter(self, obj)
        if id(type(obj)) in _WRITABLE_IDS:
            return obj
        if type(obj) is View:
            obj.sp_refuse_write()
        self.state.deny("read-only", f"{type(obj).__name__} values cannot be written by probes")
        return None

    def inplace(self, op: str, target: object, value: object) -> object:
        kind = type(target)
        if op == "+=" and (kind is int or kind is float) and type(value) is kind:
            # A counter or a total in a loop: two numbers of one builtin type, whose sum
            # is at most one bit longer, so there is nothing to check.
            return target + value  # type: ignore[operator]
        if type(target) is View:
            target.sp_refuse_write()
        if kind is list and op in {"+=", "*="}:
            return self._list_inplace(op, cast("list[object]", target), value)
        symbol = op.removesuffix("=")
        if symbol in ("+", "*", "**", "<<", "%", "/", "//"):
            return self.binop(symbol, target, value)
        if not is_scalar(target) or not is_scalar(value):
            self.values.check_arithmetic(symbol, target, value)
        function = _INPLACE.get(op)
        if function is None:
            self.state.deny("operator", f"operator {op!r} is not available")
        if op == "|=" and type(target) is dict:
            value = dict(self.as_pairs(value))  # type: ignore[call-overload]
        if op in ("|=", "&=", "-=", "^="):
            self.comparisons.check_set_operation(target, value, op)
        return function(target, value)

    def _list_inplace(self, op: str, target: list[object], value: object) -> object:
        """``xs += it`` and ``xs *= n`` on the probe's own list: in place, as Python does (an
        alias sees the change, ``+=`` takes any iterable), the new length checked and
        charged first and an iterable other than a list or tuple walked under the budget."""
        if op == "+=":
            items = value if type(value) is list or type(value) is tuple else None
            if items is None:
                items = self.materialize(value, "+=")
            items = cast("list[object]", items)
            self._check_sequence(target, len(target) + len(items), "+=")
            return list.__iadd__(target, items)
        if type(value) is not int and type(value) is not bool:
            return self.binop("*", target, value)  # refused or raised as before
        self._check_sequence(target, len(target) * max(_int(value), 0), "*=")
        return list.__imul__(target, _int(value))

    def subtract(self, left: object, right: object) -> object:
        """``left - right``: a set difference's cost (comparison.py) or a Fraction's size."""
        if not is_scalar(left) or not is_scalar(right):
            self.values.check_arithmetic("-", left, right)
        return self._set_difference(left, right)

    def apply(self, function: Callable[..., object], *args: object, **kwargs: object) -> object:
        return function(*args, **kwargs)

    # -- size guards for operators that allocate in one C call ----------------------------

    def binop(self, op: str, left: object, right: object) -> object:
        """``+ * ** << % / //`` with a size check before the one C call that would allocate."""
        if not is_scalar(left) or not is_scalar(right):
            self.values.check_arithmetic(op, left, right)
        divide = _DIVISIONS.get(op)
        if divide is not None:
            return divide(left, right)  # a quotient is no longer than its operands
        return self._sized_binop(op, left, right)

    def _sized_binop(self, op: str, left: object, right: object) -> object:
        if op == "+":
            if _is_sized(left) and type(right) is type(left):
                # A str sum is as wide per character as its widest part.
                width = str_width(right) if type(right) is str else 1
                self._check_sequence(left, _len(left) + _len(right), "+", width)
            return operator.add(left, right)
        if op == "*":
            if type(left) is int and type(right) is int:
                self.budget.check_int_bits(left.bit_length() + right.bit_length(), "*")
            elif _is_sized(left) and (type(right) is int or type(right) is bool):
                self._check_sequence(left, _len(left) * max(_int(right), 0), "*")
            elif _is_sized(right) and (type(left) is int or type(left) is bool):
                self._check_sequence(right, _len(right) * max(_int(left), 0), "*")
            return operator.mul(left, right)
        if op == "**":
            if type(left) is int and type(right) is int and right > 1:
                self.budget.check_int_bits(max(left.bit_length(), 1) * right, "**")
            return operator.pow(left, right)
        if op == "<<":
            if type(left) is int and type(right) is int:
                self.budget.check_int_bits(left.bit_length() + max(right, 0), "<<")
            return operator.lshift(left, right)
        if op == "%":
            if type(left) is str or type(left) is bytes:
                return self.formatting.percent_format(left, right)
            return operator.mod(left, right)
        raise AssertionError(op)

    def _check_sequence(self, sample: object, length: int, what: str, width: int = 1) -> None:
        """Check and charge a new str, bytes, list or tuple of ``length`` items like
        ``sample``: a str at its widest character's bytes each (PEP 393), a list or tuple a
        slot per item (the items are shared, not copied)."""
        kind = type(sample)
        if kind is str or kind is bytes:
            self.budget.check_bytes(sized_bytes(cast("str", sample), length, width), what)
        else:
            self.budget.check_items(length, what)

    def as_pairs(self, obj: object) -> object:
        if type(obj) is View:
            return obj.sp_m_items()
        if type(obj) is dict:
            return obj  # its keys were hashed (and checked) when they went in
        # Each pair is unpacked here, not by CPython's dict_merge, so a pair given as a lazy
        # iterator (filter, map) cannot hand an unchecked key to the hash.
        pairs: list[tuple[object, object]] = []
        for pair in self.materialize(obj, "update()"):
            items = self.materialize(pair, "dict pair")
            if len(items) != 2:
                raise ValueError("dictionary update sequence element has the wrong length")
            pairs.append((self.key(items[0]), items[1]))
        # Hashed in one C call (dict.update): each key compared with any equal one before it.
        self.comparisons.check_keys([key for key, _ in pairs], "dict pairs")
        return pairs

    # -- the namespace ----------------------------------------------------------------------

    def globals(self, exposures: dict[str, object], *, name: str) -> dict[str, object]:
        printer = Printer(self.state)
        return {
            "__builtins__": dict(self._builtins),
            "__name__": name,
            "_getattr_": planned_getattr(self.guarded_getattr, _PLAIN_READS),
            "_getitem_": self.guarded_getitem,
            "_getiter_": self.walks.guarded_iter,
            "_iter_unpack_sequence_": self.walks.iter_unpack_sequence,
            "_unpack_sequence_": self.walks.unpack_sequence,
            "_write_": self.guarded_write,
            "_inplacevar_": self.inplace,
            "_apply_": self.apply,
            "_print_": lambda _getattr=None: printer,
            "_tick_": self.budget.tick,
            "_enter_": self.budget.enter,
            "_leave_": self.budget.leave,
            "_binop_": self.binop,
            "_format_": self.formatting.format_field,
            "_key_": self.key,
            "_keys_": self.keys,
            "_table_": self.table,
            "_kwargs_": self.kwargs,
            # The list is copied again into the call's or display's own tuple or list.
            "_star_": lambda iterable: self.materialize(
                iterable, "*-unpacking", item_bytes=POINTER_BYTES
            ),
            **self.comparisons.operators(),
            "_sub_": self.subtract,
            # The probe's top level runs as a function (top_level.py): its prologue and
            # epilogue, and the exact-int test of an inlined ``+=`` (compiler.py).
            "_globals_": globals,
            "_locals_": locals,
            "_prebound_": prebound,
            "_export_": export_locals,
            "_type_": type,
            "_int_": int,
            **exposures,
        }


_WRITABLE_IDS: Final = type_ids(list, dict, set)
# The attribute guard's answer for the probe's own values where it is the plain
# ``getattr``: by the exact type's id (a builtin type's or a fact record's, which live as
# long as the process), the names allowed for it that neither compare (comparison.py) nor
# size their result (own_methods.py). The same answer guarded_getattr's full path gives,
# found in one lookup; any other type, a view or a closed value takes the full path.
_PLAIN_READS: Final[dict[int, frozenset[str]]] = {
    id(kind): (allowed_names(kind) or frozenset()) - COMPARING_METHOD_NAMES - sized_names(kind)
    for kind in (*SAFE_METHODS, *FACT_FIELDS)
}


def _is_sized(value: object) -> bool:
    kind = type(value)
    return kind is str or kind is bytes or kind is list or kind is tuple


# Copies of a ``**d`` table one call makes: the call's own keyword dict, and again in
# _apply_ and in a builtin's wrapper (safe_builtins), each passing **kwargs on.
KWARGS_COPIES: Final = 3
# Deepest tuple a probe may use as a key. CPython hashes tuples recursively in C with no
# guard (gh-154318) and overflows an 8 MiB stack near 130,000 levels; 1,000 leaves room
# for small thread stacks and is far beyond any real key.
MAX_KEY_DEPTH: Final = 1000
# Parts of a key tuple counted as its hash visits them, repeats included.
MAX_KEY_NODES: Final = 100_000


def _len(value: object) -> int:
    return len(cast("Sized", value))


def _int(value: object) -> int:
    return int(cast("int", value))


class _ListWriter:
    """What ``_write_`` returns for the probe's own list: ``xs[i] = v`` and ``del xs[i]``
    as they are, but ``xs[a:b] = items`` first materialises the items (ticked, charged a
    slot each, refused over the item cap) and refuses a result over ``limits.max_items``.
    CPython's list_ass_slice copies the items in one C call with neither: ten
    ``xs[:0] = xs`` made a list of 100,000 items 800 MB. RestrictedPython compiles every
    subscript store and delete (plain, unpacking and for-loop targets) as
    ``_write_(xs)[key] = value``, so this sees them all."""

    __slots__ = ("_sandbox", "_target")
    _sandbox: Sandbox
    _target: list[object]

    def __init__(self, sandbox: Sandbox, target: list[object]) -> None:
        object.__setattr__(self, "_sandbox", sandbox)
        object.__setattr__(self, "_target", target)

    def __setattr__(self, name: str, value: object) -> None:
        # xs.name = v: worded as CPython words it for a list, not naming this class.
        raise AttributeError(f"'list' object has no attribute '{name}'")

    def __setitem__(self, key: object, value: object) -> None:
        target = self._target
        if type(key) is slice:
            budget = self._sandbox.budget
            items = self._sandbox.materialize(value, "slice assignment")
            size = len(target) - len(range(len(target))[key]) + len(items)
            if size > budget.max_items:
                budget.check_items(size, "a list grown by slice assignment")
            target[key] = items
            return
        target[key] = value  # type: ignore[call-overload]

    def __delitem__(self, key: object) -> None:
        del self._target[key]  # type: ignore[arg-type]


_DIVISIONS: Final[dict[str, Callable[[object, object], object]]] = {
    "/": operator.truediv,
    "//": operator.floordiv,
}
_INPLACE: Final[dict[str, Callable[[object, object], object]]] = {
    "-=": operator.isub,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
    ">>=": operator.irshift,
    "@=": operator.imatmul,
}
