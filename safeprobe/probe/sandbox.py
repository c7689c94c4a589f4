"""The namespace a probe sees: safe builtins, bounded wrappers and RestrictedPython's guard hooks.

Promise: the only objects a probe can reach are its own values (builtin types it built), the
exposures as read-only views, the facts (frozen records of plain data), the safe builtins
below, and the exception classes it may catch. Every attribute read goes through
``guarded_getattr``, which allows a short list of methods per builtin type, the fields of
fact records, and nothing else; every builtin that would iterate in C walks a
guarded, ticking iterator under the item cap instead; every comparison, search, sort and
bulk hashing of keys has its C cost checked first (comparison.py); writes are allowed only
to the probe's own lists, dicts and sets. Threat model: SECURITY.md, "Code", "Host state",
"Memory" and "Time".
"""

from __future__ import annotations

import builtins
import math
import operator
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass, replace
from typing import Final, NoReturn, TypeVar, cast

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from safeprobe.errors import ProbeDenied
from safeprobe.probe.budget import Budget, OutputBuffer, TickingIterator
from safeprobe.probe.comparison import COMPARING_METHOD_NAMES, Comparisons
from safeprobe.probe.containers import BUFFER_BYTES_METHODS, KIND_BUFFER
from safeprobe.probe.facts.records import FACT_FIELDS
from safeprobe.probe.redaction import REDACTED as REDACTED_MARK
from safeprobe.probe.render import RenderLimits, is_scalar
from safeprobe.probe.sizes import (
    DICT_ITEM_BYTES,
    PAIR_BYTES,
    POINTER_BYTES,
    SET_ITEM_BYTES,
    char_item_bytes,
    part_bytes,
    range_item_bytes,
    sized_bytes,
    str_width,
    text_bytes,
)
from safeprobe.probe.text import (
    MAX_FORMAT_WIDTH,
    PercentField,
    format_spec_numbers,
    parse_percent,
    to_repr,
    to_text,
)
from safeprobe.probe.value_access import ValueAccess, integer_bits, token_kind, type_tokens
from safeprobe.probe.values import (
    ENUM_READS,
    MAX_VALUE_TEXT,
    enum_data,
    format_bound,
    is_closed,
    text_bound,
    type_name,
)
from safeprobe.probe.view_render import record_fields
from safeprobe.probe.views import View

# RestrictedPython's unpacking guards, typed: the path for anything but our fast one.
_unpack_guarded: Final[Callable[..., object]] = guarded_unpack_sequence
_iter_unpack_guarded: Final[Callable[..., Iterator[object]]] = guarded_iter_unpack_sequence


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Methods of the probe's own builtin values that it may call. They read, or write only to
# the probe's own value; the ones that can build something large or reach further are
# wrapped in Sandbox._sized_method. Left out on purpose: str.format_map and
# str.translate/maketrans (unbounded expansion via a mapping), int.to_bytes (allocation
# by argument), and every dunder (RestrictedPython refuses "_" names at compile time).


_SET_READS: Final = (
    "copy union intersection difference symmetric_difference issubset issuperset isdisjoint"
)
SAFE_METHODS: Final[dict[type, frozenset[str]]] = {
    str: _names(
        "capitalize casefold count encode endswith find index isalnum isalpha isascii "
        "isdecimal isdigit isidentifier islower isnumeric isprintable isspace istitle "
        "isupper lower lstrip partition removeprefix removesuffix rfind rindex rpartition "
        "rsplit rstrip split splitlines startswith strip swapcase title upper "
        "join center ljust rjust zfill replace expandtabs format"
    ),
    bytes: _names(
        "count decode endswith find hex index isalnum isalpha isascii isdigit islower "
        "isspace isupper lower lstrip rfind rindex rsplit rstrip split splitlines "
        "startswith strip upper join"
    ),
    list: _names("append extend insert pop remove clear copy count index reverse sort"),
    dict: _names("keys values items get pop popitem setdefault update clear copy"),
    set: _names(f"{_SET_READS} add discard remove pop clear update"),
    frozenset: _names(_SET_READS),
    tuple: _names("count index"),
    int: _names("bit_length bit_count conjugate real imag numerator denominator"),
    float: _names("is_integer conjugate real imag hex"),
    complex: _names("conjugate real imag"),
}

# Exceptions a probe may raise and catch. Left out on purpose: BaseException and its direct
# children (SystemExit, KeyboardInterrupt, GeneratorExit), so a probe cannot name the
# budget's stop to catch it, nor pretend to exit the host.
SAFE_EXCEPTIONS: Final = (
    ArithmeticError,
    AssertionError,
    AttributeError,
    Exception,
    IndexError,
    KeyError,
    LookupError,
    NameError,
    NotImplementedError,
    OverflowError,
    RuntimeError,
    StopIteration,
    TypeError,
    ValueError,
    ZeroDivisionError,
)

# Builtins passed through as they are: they compute on scalars and cannot iterate,
# allocate much, or reach an object. Left out on purpose: type, vars, dir, getattr,
# hasattr, setattr, id, globals, locals, object, super, classmethod, staticmethod and
# property (they reach objects and internals the policy does not name); open, input,
# __import__, breakpoint, help (I/O and imports); compile, eval, exec, __build_class__
# (they make code); memoryview, bytearray (mutable views of memory); iter, next, aiter,
# anext, callable, hash, format (not needed; format would run __format__ unguarded).
# int, round and pow are wrapped instead: each has a one-call cost cliff (below); divmod
# as ``//`` is (a host's Fraction divides in fractions.py, costed by its size); float
# because its error message copies the argument (_without_repr).
_PASS_THROUGH: Final = (
    "abs",
    "bool",
    "chr",
    "hex",
    "len",
    "oct",
    "ord",
    "bin",
)

_T = TypeVar("_T")
_TYPE_MRO: Final = type.__dict__["__mro__"]


def _without_repr(call: Callable[..., _T], message: str, *args: object) -> _T:
    """``call(*args)``, but a ValueError worded anew: CPython 3.11 quotes the argument's
    whole repr in some (``float(s)``, ``list.index(s)``), a copy as large as the value,
    made in C where no budget sees it, and kept by a probe that keeps the exception. It is
    raised outside the handler so the original is not kept as its __context__ either."""
    try:
        return call(*args)
    except ValueError:
        pass
    raise ValueError(message)


# Types isinstance() may test against. Anything else would hand the probe a class.
# By id: type tests are by identity (a set of types would hash, and a host metaclass's
# __hash__/__eq__ is host code; SECURITY.md, "Host code").
_SAFE_TYPE_IDS: Final = frozenset(
    map(id, [int, float, complex, str, bytes, bool, list, tuple, dict, set, frozenset, range])
) | frozenset(map(id, [type(None), *SAFE_EXCEPTIONS]))


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
        self.comparisons = Comparisons(self.budget, self.key)
        self.values = ValueAccess(self.budget, self.state.deny)
        self._set_difference = self.comparisons.set_operators()["_sub_"]
        self._builtins = self._make_builtins()
        # isinstance(x, str) in a probe names our wrapper; map it back to the type.
        # Keyed by id: the wrappers live as long as this sandbox's builtins do.
        self._wrapper_types: dict[int, type] = {
            id(self._builtins[name]): kind
            for name, kind in (
                ("str", str),
                ("list", list),
                ("tuple", tuple),
                ("set", set),
                ("frozenset", frozenset),
                ("dict", dict),
                ("float", float),
                ("int", int),
                ("bytes", bytes),
            )
        }

    # -- iteration and sizes --------------------------------------------------------------

    def guarded_iter(self, obj: object) -> Iterator[object]:
        if type(obj) is View:
            return TickingIterator(obj._sp_iter_values(), self.budget)
        return TickingIterator(iter(obj), self.budget)  # type: ignore[call-overload]

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
        return self._unpack_each(iterable, spec, getiter)

    def _unpack_each(
        self, iterable: object, spec: dict[str, object], getiter: Callable[[object], object]
    ) -> Iterator[object]:
        size = spec["min_len"]
        for item in self.guarded_iter(iterable):
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
        if type(name) is not str or name.startswith("_"):
            self.state.deny("attribute", "names starting with '_' are not available")
        if type(obj) is View:
            if name in BUFFER_BYTES_METHODS and obj._sp_kind == KIND_BUFFER:
                # A bytearray's decode, find …: bytes' own, on a charged copy, so the same
                # guards hold (codecs, sizes) and the result is what bytes' would be.
                return self.guarded_getattr(obj._sp_bytes(), name)
            return obj._sp_getattr(name)
        kind = type(obj)
        allowed = _SAFE_METHODS_BY_ID.get(id(kind)) or _FACT_FIELDS_BY_ID.get(id(kind))
        if allowed is None and is_closed(obj):
            return self._closed_getattr(obj, name)
        if allowed is None or name not in allowed:
            self.state.deny(
                "attribute", f"'{name}' of {kind.__name__} values is not available to probes"
            )
        if name in COMPARING_METHOD_NAMES:
            checked = self._comparing_method(obj, name)
            if checked is not None:
                return checked
        if name not in SIZED_METHOD_NAMES:
            return getattr(obj, name)  # append, lower …: nothing to bound
        sized = self._sized_method(obj, name)
        if sized is not None:
            if type(sized) is types.FunctionType:
                # Named as the method it stands for, not "Sandbox._sized_method.<locals>".
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

    def _comparing_method(self, obj: object, name: str) -> object | None:
        """count, index, remove, sort, startswith, endswith: their one C call compares, so
        its cost is checked first (comparison.py)."""
        base = self._copying_method(obj, name) if name == "index" else None
        method = cast("Callable[..., object]", base or getattr(obj, name))
        checked = self.comparisons.method(obj, name, method)
        if checked is not None:
            checked.__name__ = name
            checked.__qualname__ = f"{type(obj).__name__}.{name}"
        return checked

    def guarded_getitem(self, obj: object, key: object) -> object:
        if type(obj) is View:
            return obj._sp_getitem(self.key(key))
        kind = type(obj)
        if type(key) is slice and (kind is str or kind is bytes or kind is list or kind is tuple):
            # A slice copies up to its source's size in one step: charged before it is
            # made, from its length (range() does the slice arithmetic in O(1)), or a loop
            # of s[i:] over a 16 MB string fills the host's memory uncounted.
            count = len(range(_len(obj))[key])
            self._check_sequence(obj, count, "a slice")
            return obj[key]  # type: ignore[index]
        return obj[self.key(key)]  # type: ignore[index]

    def _check_copy(self, value: object, what: str) -> None:
        """Charge, before it is made, a copy of one of the probe's own builtin values: it
        takes what the source takes (a dict's table, not 8 bytes an entry). Only builtin
        types reach here, so sys.getsizeof runs no host code."""
        kind = type(value)
        if (
            kind is str
            or kind is bytes
            or kind is list
            or kind is tuple
            or kind is dict
            or kind is set
            or kind is frozenset
        ):
            self.budget.check_bytes(sys.getsizeof(value), what)

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
            obj._sp_refuse_write()
        self.state.deny("read-only", f"{type(obj).__name__} values cannot be written by probes")
        return None

    def inplace(self, op: str, target: object, value: object) -> object:
        kind = type(target)
        if op == "+=" and (kind is int or kind is float) and type(value) is kind:
            # A counter or a total in a loop: two numbers of one builtin type, whose sum
            # is at most one bit longer, so there is nothing to check.
            return target + value  # type: ignore[operator]
        if type(target) is View:
            target._sp_refuse_write()
        symbol = op.removesuffix("=")
        if symbol in ("+", "*", "**", "<<", "%", "/", "//"):
            return self.binop(symbol, target, value)
        if not is_scalar(target) or not is_scalar(value):
            self.values.check_arithmetic(symbol, target, value)
        function = _INPLACE.get(op)
        if function is None:
            self.state.deny("operator", f"operator {op!r} is not available")
        if op == "|=" and type(target) is dict:
            value = dict(self._as_pairs(value))  # type: ignore[call-overload]
        if op in ("|=", "&=", "-=", "^="):
            self.comparisons.check_set_operation(target, value, op)
        return function(target, value)

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
                return self.percent_format(left, right)
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

    def percent_format(self, template: str | bytes, args: object) -> object:
        """``template % args``, field by field, with our renderer for %s/%r/%a.

        C's %-formatting would call each argument's own __str__/__repr__ (addresses of
        functions, a view's machinery) and could build any size in one call, so each field
        is formatted on its own, its text rendered by us, and the total checked as it grows.
        """
        is_bytes = type(template) is bytes
        text = template.decode("latin-1") if isinstance(template, bytes) else template
        fields = parse_percent(text, self.state.deny, self.budget.tick)
        mapping = any(f.key is not None for f in fields)
        positional = list(args) if type(args) is tuple else [args]
        used = 0
        pieces: list[str | bytes] = []
        total = 0
        for part in fields:
            if part.conversion in ("%", ""):
                piece: str | bytes = part.literal.encode("latin-1") if is_bytes else part.literal
            else:
                if mapping:
                    key: object = part.key
                    if is_bytes and part.key is not None:
                        key = part.key.encode("latin-1")
                    value = self._percent_value(args, key)
                else:
                    if used >= len(positional):
                        raise TypeError("not enough arguments for format string")
                    value = positional[used]
                    used += 1
                piece = self._percent_piece(part, value, is_bytes=is_bytes)
            total += len(piece)
            self.budget.check_bytes(sized_bytes(piece, len(piece)), "%-format")
            self.budget.check_total_bytes(total, "%-format")
            pieces.append(piece)
        if not mapping and used < len(positional) and type(args) is tuple:
            raise TypeError("not all arguments converted during string formatting")
        if is_bytes:
            return b"".join(cast("list[bytes]", pieces))
        return "".join(cast("list[str]", pieces))

    def _percent_value(self, args: object, key: object) -> object:
        if type(args) is View:
            return args._sp_getitem(key)
        if type(args) is dict:
            return args[self.key(key)]
        raise TypeError("format requires a mapping")

    def _percent_piece(self, field: PercentField, value: object, *, is_bytes: bool) -> str | bytes:
        limits = self.state.render_limits
        spec = field.spec
        if field.conversion in "sra":
            if is_bytes and field.conversion == "s":
                if type(value) is not bytes:
                    raise TypeError("%b requires a bytes-like object")
                return (spec + "s").encode() % (value,)
            if field.conversion == "s":
                shown = to_text(value, limits)
            else:
                shown = to_repr(value, limits)
                if field.conversion == "a" or is_bytes:
                    shown = shown.encode("ascii", "backslashreplace").decode("ascii")
            formatted = (spec + "s") % (shown,)
            return formatted.encode("latin-1", "backslashreplace") if is_bytes else formatted
        if not is_scalar(value):
            raise TypeError(f"%{field.conversion} format: a number is required")
        template = spec + field.conversion
        if is_bytes:
            return template.encode() % (value,)
        result: str = template % (value,)
        return result

    def _check_format_spec(self, spec: str) -> None:
        for number in format_spec_numbers(spec):
            if len(number) > 6 or int(number) > MAX_FORMAT_WIDTH:
                self.state.deny("format", f"format width over {MAX_FORMAT_WIDTH}")

    def format_field(self, value: object, conversion: int, spec: str) -> str:
        """One f-string field: render with our text functions, never the value's own."""
        limits = self.state.render_limits
        if type(spec) is not str:
            spec = to_text(spec, limits)
        self._check_format_spec(spec)
        if conversion == -1 and is_closed(value):
            # A datetime's strftime, a Decimal's fixed point: the stdlib's own __format__,
            # once its result's size is checked (values.format_bound). A value whose own
            # text is over the cap (str() shows it marked) is refused: a marker formatted
            # with the spec would be a wrong answer.
            if text_bound(value) > MAX_VALUE_TEXT:
                raise self.budget.stop(
                    "limit", "size", "f-string field: the value's text is too long"
                )
            self.budget.check_bytes(format_bound(value, spec), "f-string field")
            text = format(value, spec)
            self.budget.check_bytes(sized_bytes(text, len(text)), "f-string field")
            return text
        if conversion in (ord("r"), ord("a")):
            value = to_repr(value, limits)
        elif conversion == ord("s") or not is_scalar(value) or type(value) is bytes:
            # bytes too: their own __format__ is their whole repr, in one C call.
            value = to_text(value, limits)
        text = format(value, spec)
        # Charged, so many fields of one large string cannot make a huge f-string.
        self.budget.check_bytes(sized_bytes(text, len(text)), "f-string field")
        return text

    # -- methods of the probe's own values that can build something large ----------------

    def _copying_method(self, obj: object, name: str) -> object | None:
        """Methods whose result is a copy of their source, charged to the budget."""
        if name in _COPYING_METHODS and _is_any(obj, _COPYING_METHODS[name]):
            method = getattr(obj, name)
            what = f"{type(obj).__name__}.{name}()"

            def copying(*args: object) -> object:
                if type(obj) is str and name in _CASE_METHODS and not obj.isascii():
                    # Case mapping can triple a character ('ΐ'.upper() is 3) and widen it
                    # ('ÿ'.upper() is 'Ÿ', 2 bytes): that bound is checked against the
                    # one-call cap before the call, and the result's real size charged.
                    self.budget.check_total_bytes(text_bytes(3 * len(obj), 4), what)
                    changed: object = method(*args)
                    self._check_copy(changed, what)
                    return changed
                self._check_copy(obj, what)
                result: object = method(*args)
                return result

            return copying
        if name == "index" and type(obj) is list:
            find = obj.index

            def index(value: object, start: int = 0, stop: int = sys.maxsize) -> int:
                return _without_repr(find, "list.index(x): x not in list", value, start, stop)

            return index
        return None

    def _text_method(self, obj: object, name: str) -> object | None:
        """join, padding, expandtabs and replace of str (join of bytes too), each checked
        and charged at its result's bytes, its widest character's width included."""
        budget = self.budget
        if name == "join" and id(type(obj)) in _TEXT_IDS:
            sep = obj

            def join(iterable: Iterable[object]) -> object:
                items = self.materialize(iterable, "join()")
                total = 0
                width = 1
                for item in items:
                    if type(item) is str:
                        total += len(item)
                        if not item.isascii():
                            width = max(width, str_width(item))
                    elif type(item) is bytes:
                        total += len(item)
                total += _len(sep) * max(len(items) - 1, 0)
                budget.check_bytes(sized_bytes(cast("str", sep), total, width), "join()")
                joined: object = getattr(sep, "join")(items)  # noqa: B009 - str or bytes join
                return joined

            return join
        if name in ("center", "ljust", "rjust", "zfill") and type(obj) is str:
            method = getattr(obj, name)
            text = obj

            def pad(width: int, *args: object) -> object:
                fill = args[0] if args and type(args[0]) is str else " "
                wide = str_width(fill)
                budget.check_bytes(sized_bytes(text, int(width), wide), f"str.{name}()")
                return method(width, *args)

            return pad
        if name == "expandtabs" and type(obj) is str:
            text = obj

            def expandtabs(tabsize: int = 8) -> str:
                size = sized_bytes(text, len(text) * max(int(tabsize), 1))
                budget.check_bytes(size, "str.expandtabs()")
                return text.expandtabs(tabsize)

            return expandtabs
        if name == "replace" and type(obj) is str:
            text = obj

            def replace(old: str, new: str, count: int = -1) -> str:
                hits = text.count(old) if count < 0 else min(count, text.count(old))
                if old == "":
                    hits = len(text) + 1
                wide = str_width(new) if type(new) is str else 1
                size = sized_bytes(text, len(text) + hits * _len(new), wide)
                budget.check_bytes(size, "str.replace()")
                return text.replace(old, new, count)

            return replace
        return None

    def _sized_method(self, obj: object, name: str) -> object | None:
        budget = self.budget
        copying = self._copying_method(obj, name)
        if copying is not None:
            return copying
        text_method = self._text_method(obj, name)
        if text_method is not None:
            return text_method
        if name in ("encode", "decode") and id(type(obj)) in _TEXT_IDS:
            return self._codec_method(obj, name)
        if name == "hex" and type(obj) is bytes:
            data = obj

            def hexed(*args: object) -> str:
                # Charged per call, not when read: a method read once may be called many
                # times. With a separator, bytes.hex writes one after every byte group
                # (3 characters a byte at most, for a 1-character separator and groups of 1).
                each = 3 if args else 2
                budget.check_bytes(text_bytes(each * len(data), 1), "bytes.hex()")
                return data.hex(*args)  # type: ignore[arg-type]

            return hexed
        if name in ("split", "rsplit", "splitlines") and id(type(obj)) in _TEXT_IDS:
            return self._split_method(obj, name)
        if name == "format" and type(obj) is str:
            return self._safe_str_format(obj)
        if name in _BULK_METHODS and id(type(obj)) in _BULK_IDS:
            method = getattr(obj, name)

            def bulk(*others: object, **kwargs: object) -> object:
                if type(obj) is dict:
                    pairs = [self._as_pairs(o) for o in others]
                    self._check_merged_keys(pairs)
                    for source in pairs:
                        # As for sets below: each key is compared with its group here.
                        incoming = (
                            list(source)
                            if type(source) is dict
                            else [key for key, _ in cast("list[tuple[object, object]]", source)]
                        )
                        self.comparisons.check_lookups(obj, incoming, f"{name}()")
                    added = sum(_len(p) for p in pairs) + len(kwargs)
                    budget.check_items(added, f"{name}()", item_bytes=DICT_ITEM_BYTES)
                    return method(*pairs, **kwargs)
                if type(obj) is list:
                    return method(*(self.materialize(o, f"{name}()") for o in others))
                keys = [self.keys(o) for o in others]
                for items in keys:
                    # Keys sharing a hash among themselves may share it with a group of
                    # this set too (grown an add at a time): each is compared with that
                    # group (check_lookups).
                    self.comparisons.check_lookups(obj, items, f"{name}()")
                if name in _SET_RESULTS or name in _SET_GROWS:
                    # A new or grown set: a table slot for each item it may hold, first.
                    held = _len(obj) if name in _SET_RESULTS else 0
                    if name in _SET_GROWS:
                        held += sum(len(k) for k in keys)
                    budget.check_items(held, f"{name}()", item_bytes=SET_ITEM_BYTES)
                return method(*keys)

            return bulk
        if name in _KEYED_METHODS and id(type(obj)) in _KEYED_IDS:
            method = getattr(obj, name)

            def keyed(key: object, *rest: object) -> object:
                return method(self.key(key), *rest)

            return keyed
        if name in ("keys", "values", "items") and type(obj) is dict:
            # Lists, not live views: a view's set operators (keys() & x) hash x in C.
            method = getattr(obj, name)
            made = PAIR_BYTES if name == "items" else 0

            def listed() -> list[object]:
                budget.check_items(_len(obj), f"dict.{name}()", item_bytes=made)
                return list(method())

            return listed
        return None

    def _check_merged_keys(self, sources: list[object]) -> None:
        """dict.update(other): each key of another dict is compared with an equal, distinct
        key of this one in the same C call (pairs were checked by _as_pairs)."""
        for source in sources:
            if type(source) is dict:
                self.comparisons.check_keys(list(source), "dict.update()")

    def _codec_method(self, obj: object, name: str) -> Callable[..., object]:
        method = getattr(obj, name)
        size = _len(obj)

        def convert(encoding: str = "utf-8", errors: str = "strict") -> object:
            self._check_codec(encoding, errors)
            # backslashreplace writes up to 10 characters for one; UTF-8 up to 4 bytes; a
            # decoded character takes up to 4 bytes (PEP 393).
            self.budget.check_bytes(
                text_bytes(size * (10 if errors == "backslashreplace" else 4), 1), name
            )
            result: object = method(encoding, errors)
            return result

        return convert

    def _split_method(self, obj: object, name: str) -> Callable[..., object]:
        """split/rsplit/splitlines, refused when they would make more than max_items parts."""
        method = getattr(obj, name)
        text = cast("str | bytes", obj)
        cap = self.budget.max_items

        # Each part is a new string: its header and slot, plus all the text copied once.
        each = part_bytes(text)
        whole = sys.getsizeof(text)

        def splitlines(*args: object, **kwargs: object) -> object:
            lines = _line_bound(text)
            self.budget.check_total_bytes(whole + lines * each, "splitlines()")
            self.budget.check_items(lines, "splitlines()", item_bytes=each - POINTER_BYTES)
            self.budget.check_bytes(whole, "splitlines()")
            result: object = method(*args, **kwargs)
            return result

        # A whitespace split is bounded before the call only loosely (a part per two
        # characters), so that bound is checked against the one-call cap, and what the
        # split really made is charged once it returns: charging the loose bound would make
        # an honest loop over many short lines run out of budget.

        def split(sep: object = None, maxsplit: object = -1) -> object:
            # Split at most cap times: if that leaves the remainder unsplit, the whole split
            # would have been over the cap, and only cap + 1 parts were ever built.
            wanted = maxsplit if type(maxsplit) is int and maxsplit >= 0 else None
            limit = cap if wanted is None else min(wanted, cap)
            # Parts, bounded before the call: a C count of the separator, or for whitespace
            # one part per two characters at most.
            if type(sep) is type(text) and _len(sep):
                bound = text.count(sep) + 1  # type: ignore[arg-type]
            else:
                bound = len(text) // 2 + 1
            self.budget.check_total_bytes(whole + min(bound, limit + 1) * each, f"{name}()")
            parts: list[object] = method(sep, limit)
            if len(parts) > cap and (wanted is None or wanted > cap):
                self.budget.check_items(cap + 1, f"{name}()")
            self.budget.check_items(len(parts), f"{name}()", item_bytes=each - POINTER_BYTES)
            self.budget.check_bytes(whole, f"{name}()")
            return parts

        return splitlines if name == "splitlines" else split

    def _check_codec(self, encoding: object, errors: object) -> None:
        # Any other codec name makes CPython import an encodings module into the host.
        if type(encoding) is not str or type(errors) is not str:
            self.state.deny("codec", "codec and errors must be names")
        if encoding not in _CODECS or errors not in _CODEC_ERRORS:
            self.state.deny("codec", "only utf-8, ascii and latin-1 codecs are available")

    def _as_pairs(self, obj: object) -> object:
        if type(obj) is View:
            return obj._sp_m_items()
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

    def _safe_str_format(self, template: str) -> Callable[..., str]:
        # str.format walks attributes and items through its mini-language ("{0.__class__}",
        # "{0[key]}") without going through our guards (Ronacher, "Be careful with Python's
        # new-style string format", 2016; RestrictedPython CVE-2023-41039). Only
        # plain positional and keyword fields are allowed, each rendered by format_field.
        import string  # noqa: PLC0415 - only needed when a probe formats

        def fmt(*args: object, **kwargs: object) -> str:
            parts: list[str] = []
            auto = 0
            total = 0
            # Parsed lazily, one step per field: a template of millions of fields stops at
            # the step budget or the deadline instead of running (or parsing) all at once.
            for literal, name, spec, conversion in string.Formatter().parse(template):
                self.budget.tick()
                total += len(literal)
                parts.append(literal)
                if name is None:
                    continue
                if name == "":
                    key: int | str = auto
                    auto += 1
                elif name.isdigit():
                    key = int(name)
                elif name.isidentifier():
                    key = name
                else:
                    self.state.deny("format", "format fields may not use '.' or '[]'")
                if spec and "{" in spec:
                    self.state.deny("format", "nested format fields are not available")
                value = args[key] if isinstance(key, int) else kwargs[key]
                conv = -1 if conversion is None else ord(conversion)
                piece = self.format_field(value, conv, spec or "")  # charges the piece
                total += len(piece)
                self.budget.check_total_bytes(total, "str.format()")
                parts.append(piece)
            return "".join(parts)

        return fmt

    # -- the builtins -----------------------------------------------------------------------

    def _make_builtins(self) -> dict[str, object]:
        limits = self.state.render_limits
        names: dict[str, object] = {name: getattr(builtins, name) for name in _PASS_THROUGH}
        names.update({exc.__name__: exc for exc in SAFE_EXCEPTIONS})
        names.update(
            {
                "True": True,
                "False": False,
                "None": None,
                "str": self._str,
                "repr": lambda value: to_repr(value, limits),
                "range": range,
                "list": lambda iterable=(): self.materialize(iterable, "list()"),
                "tuple": lambda iterable=(): tuple(
                    self.materialize(iterable, "tuple()", item_bytes=POINTER_BYTES)
                ),
                "set": lambda iterable=(): set(self.keys(iterable)),
                "frozenset": lambda iterable=(): frozenset(self.keys(iterable)),
                "dict": self._dict,
                "sorted": self._sorted,
                "reversed": lambda iterable: list(
                    reversed(self.materialize(iterable, "reversed()", item_bytes=POINTER_BYTES))
                ),
                "sum": self._sum,
                "min": self._reducer(min),
                "max": self._reducer(max),
                "any": lambda iterable: any(self.guarded_iter(iterable)),
                "all": lambda iterable: all(self.guarded_iter(iterable)),
                "enumerate": lambda iterable, start=0: enumerate(
                    self.guarded_iter(iterable), start
                ),
                "zip": lambda *iterables, strict=False: zip(
                    *(self.guarded_iter(i) for i in iterables), strict=strict
                ),
                "map": lambda function, *iterables: map(
                    function, *(self.guarded_iter(i) for i in iterables)
                ),
                "filter": lambda function, iterable: filter(function, self.guarded_iter(iterable)),
                "isinstance": self._isinstance,
                "pow": self._pow,
                "float": lambda value=0.0: _without_repr(
                    float, "could not convert to float", value
                ),
                "round": self._round,
                "divmod": self._divmod,
                "int": self._int,
                "bytes": self._bytes,
                "typename": self._typename,
                "hasattr": self._hasattr,
                "asdict": self._asdict,
            }
        )
        named = {name: _named(name, value) for name, value in names.items()}
        named.update(
            type_tokens(self.budget, self.state.deny)
        )  # datetime, Decimal, deque …: for isinstance()
        return named

    # One C call each, so no tick can stop them: ``pow(3, 2**40000 - 1, m)`` holds the GIL
    # for minutes, ``round(5, -10**7)`` for seconds, and ``int("f" * 10**6, 16)`` makes
    # a number whose division takes seconds. Each is refused before it starts.

    def _pow(self, base: object, exp: object, mod: object = None) -> object:
        if mod is None:
            return self.binop("**", base, exp)
        if type(exp) is int and type(mod) is int:
            # Each step of the exponent multiplies and then reduces modulo m by long
            # division, quadratic in m's digits (bits(e) * bits(m) undercounted a 40,000-bit
            # modulus 1,300 times: ~500 ms in one call). The base is reduced once first,
            # and a negative exponent first inverts it (about one more division).
            digits = _pow_digits(mod)
            cost = (max(exp.bit_length(), 1) + 1) * digits * digits
            if type(base) is int:
                cost += _pow_digits(base) * digits
            if cost > MAX_MODPOW_COST:
                raise self.budget.stop("limit", "size", "pow() with a modulus is too large")
        result: object = pow(base, exp, mod)  # type: ignore[call-overload]
        return result

    def _round(self, number: object, ndigits: object = None) -> object:
        if is_closed(number):
            self.budget.check_int_bits(integer_bits(number), "round()")
        if type(ndigits) is int and abs(ndigits) > MAX_ROUND_DIGITS:
            raise self.budget.stop(
                "limit", "size", f"round() to more than {MAX_ROUND_DIGITS} digits"
            )
        result: object = round(number, ndigits)  # type: ignore[call-overload]
        return result

    def _divmod(self, left: object, right: object) -> object:
        if not is_scalar(left) or not is_scalar(right):
            self.values.check_arithmetic("//", left, right)
        return divmod(left, right)  # type: ignore[operator]

    def _int(self, *args: object, **kwargs: object) -> int:
        if args and is_closed(args[0]):
            self.budget.check_int_bits(integer_bits(args[0]), "int()")
        if args and id(type(args[0])) in _TEXT_IDS:
            base = args[1] if len(args) > 1 else kwargs.get("base", 10)
            bits_per_char = math.log2(base) if type(base) is int and base >= 2 else 5.2
            self.budget.check_int_bits(int(_len(args[0]) * bits_per_char), "int()")
        return int(*args, **kwargs)  # type: ignore[call-overload, no-any-return]

    def _str(self, *args: object) -> str:
        if not args:
            return ""
        if len(args) > 1 and type(args[0]) is bytes:
            errors = args[2] if len(args) > 2 else "strict"
            self._check_codec(args[1], errors)
            # As bytes.decode: up to 4 bytes a character, 10 characters a byte escaped.
            each = 10 if errors == "backslashreplace" else 4
            self.budget.check_bytes(text_bytes(_len(args[0]) * each, 1), "str()")
            return str(*args)
        return to_text(args[0], self.state.render_limits)

    def _dict(self, *args: object, **kwargs: object) -> dict[object, object]:
        result: dict[object, object] = {}
        if args:
            pairs = self._as_pairs(args[0])
            self.budget.check_items(_len(pairs), "dict()", item_bytes=DICT_ITEM_BYTES)
            result.update(pairs)  # type: ignore[call-overload]
        if kwargs:
            # dict(**d): the result is one more copy (the call's own were charged by
            # _kwargs_).
            self.budget.check_items(len(kwargs), "dict()", item_bytes=DICT_ITEM_BYTES)
        result.update(kwargs)
        return result

    def _sum(self, iterable: object, start: object = 0) -> object:
        if id(type(start)) not in _NUMBER_IDS and not is_closed(start):
            self.state.deny("sum", "sum() adds numbers only; use ''.join() or a loop")
        items = self.materialize(iterable, "sum()")
        if not all(map(_NUMBER_IDS.__contains__, map(id, map(type, items)))):
            # Decimals, Fractions, timedeltas: closed values, whose + is the stdlib's; a
            # Fraction sum's integers grow as long as all its terms' together.
            if not all(id(type(v)) in _NUMBER_IDS or is_closed(v) for v in items):
                raise TypeError("sum() adds numbers only")
            bits = integer_bits(start) + sum(map(integer_bits, items))
            self.budget.check_int_bits(bits, "sum()")
        total: object = sum(cast("list[int]", items), cast("int", start))
        return total

    def _reducer(self, function: Callable[..., object]) -> Callable[..., object]:
        what = f"{function.__name__}()"

        def reduce(*args: object, **kwargs: object) -> object:
            items: object = args
            if len(args) == 1:
                items = self.materialize(args[0], what)
            # Each item is compared with the best so far: at most one walk of them all.
            key = kwargs.get("key")
            if key is None:
                self.comparisons.check_value(items, what)
            else:
                kwargs["key"] = self.comparisons.keyed(
                    cast("Callable[[object], object]", key), 0, what
                )
            return function(items, **kwargs) if len(args) == 1 else function(*args, **kwargs)

        return reduce

    def _sorted(self, iterable: object, *, key: object = None, reverse: object = False) -> object:
        # sorted() merges through a buffer of half the items.
        items = self.materialize(iterable, "sorted()", item_bytes=POINTER_BYTES // 2)
        if key is None:
            self.comparisons.check_sort(items, "sorted()")
        else:
            key = self.comparisons.keyed(
                cast("Callable[[object], object]", key), len(items), "sorted()"
            )
        return sorted(items, key=key, reverse=reverse)  # type: ignore[call-overload]

    def _isinstance(self, value: object, kinds: object) -> bool:
        wanted = kinds if type(kinds) is tuple else (kinds,)
        real: list[type] = []
        for kind in wanted:
            token = token_kind(kind)
            if token is not None:
                real.append(token)  # a stdlib type by the name values.py gives it
                continue
            mapped = self._wrapper_types.get(id(kind), kind) if type(kind) is not tuple else None
            if mapped is None or id(mapped) not in _SAFE_TYPE_IDS:
                self.state.deny(
                    "isinstance",
                    "isinstance() takes builtin types and the stdlib types a probe may name "
                    "(datetime, Decimal, Enum, deque … as README lists)",
                )
            real.append(mapped)
        target = value._sp_obj if type(value) is View else value
        # By the MRO's identities, not issubclass: Fraction and ChainMap are ABCs, whose
        # test walks their subclasses and asks each one's metaclass (host code, when the
        # host subclassed them with its own __subclasscheck__).
        wanted_ids = {id(kind) for kind in real}
        return any(id(klass) in wanted_ids for klass in _TYPE_MRO.__get__(type(target)))

    def _typename(self, value: object) -> str:
        """``type(value).__name__``, from the C slot of the host value's class."""
        if type(value) is View:
            return type_name(type(value._sp_obj))
        if token_kind(value) is not None:
            return "type"
        if type(value) is type(REDACTED_MARK):
            return "redacted"
        return type_name(type(value))

    def _hasattr(self, value: object, name: object) -> bool:
        """Whether ``value.name`` is there for this probe: allowed and present. Nothing
        is read and nothing is recorded as a refusal."""
        if type(name) is not str:
            raise TypeError("hasattr(): attribute name must be string")
        if name.startswith("_"):
            return False
        if type(value) is View:
            return value._sp_has(name)
        if is_closed(value):
            return self.values.readable(value, name)
        allowed = _SAFE_METHODS_BY_ID.get(id(type(value))) or _FACT_FIELDS_BY_ID.get(
            id(type(value))
        )
        return allowed is not None and name in allowed

    def _asdict(self, value: object) -> dict[str, object]:
        """A named tuple's, dataclass's, pydantic model's or namespace's fields as a dict,
        each read as ``value.field`` would be (allowlist, redaction): what ``_asdict()``
        gives, shallow (nested values stay views, unlike dataclasses.asdict)."""
        names = record_fields(value) if type(value) is View else None
        if names is None:
            raise TypeError("asdict() takes a named tuple, dataclass, pydantic model or namespace")
        self.budget.check_items(len(names), "asdict()", item_bytes=DICT_ITEM_BYTES)
        return {name: self.guarded_getattr(value, name) for name in names}

    def _bytes(self, *args: object, **kwargs: object) -> bytes:
        """``bytes()`` of a count, a str with its encoding, a bytes-like view or an
        iterable of ints: each charged before the one C call that makes it."""
        if not args and not kwargs:
            return b""
        source = args[0] if args else kwargs.get("source")
        if type(source) is int or type(source) is bool:
            self.budget.check_bytes(text_bytes(max(source, 0), 1), "bytes()")
            return bytes(source)
        if type(source) is str:
            encoding = args[1] if len(args) > 1 else kwargs.get("encoding", "utf-8")
            errors = args[2] if len(args) > 2 else kwargs.get("errors", "strict")
            self._check_codec(encoding, errors)
            self.budget.check_bytes(text_bytes(len(source) * 4, 1), "bytes()")
            return bytes(source, cast(str, encoding), cast(str, errors))
        if type(source) is bytes:
            return source
        if type(source) is View:
            copy = source._sp_bytes()
            if copy is not None:
                return copy
        return bytes(cast("list[int]", self.materialize(source, "bytes()")))

    # -- the namespace ----------------------------------------------------------------------

    def globals(self, exposures: dict[str, object], *, name: str) -> dict[str, object]:
        printer = _Printer(self)
        return {
            "__builtins__": dict(self._builtins),
            "__name__": name,
            "_getattr_": self.guarded_getattr,
            "_getitem_": self.guarded_getitem,
            "_getiter_": self.guarded_iter,
            "_iter_unpack_sequence_": self.iter_unpack_sequence,
            "_unpack_sequence_": self.unpack_sequence,
            "_write_": self.guarded_write,
            "_inplacevar_": self.inplace,
            "_apply_": self.apply,
            "_print_": lambda _getattr=None: printer,
            "_tick_": self.budget.tick,
            "_enter_": self.budget.enter,
            "_leave_": self.budget.leave,
            "_binop_": self.binop,
            "_format_": self.format_field,
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
            **exposures,
        }


def _ids(*kinds: type) -> frozenset[int]:
    """The ids of ``kinds``: a type test is ``id(type(v)) in IDS``, by identity, never by
    ``==`` or hashing (a host metaclass's ``__eq__``/``__hash__`` is host code)."""
    return frozenset(map(id, kinds))


_SIZED_TYPE_IDS: Final = _ids(str, bytes, list, tuple)
_TEXT_IDS: Final = _ids(str, bytes)
_INT_IDS: Final = _ids(int, bool)
_NUMBER_IDS: Final = _ids(int, float, complex, bool)
_MATERIALIZED_IDS: Final = _ids(list, tuple, dict, set, frozenset, str, bytes, range)
_COPY_CHARGED_IDS: Final = _ids(str, bytes, list, tuple, dict, set, frozenset)
_WRITABLE_IDS: Final = _ids(list, dict, set)
_BULK_IDS: Final = _ids(list, dict, set, frozenset)
_KEYED_IDS: Final = _ids(dict, set)
_SAFE_METHODS_BY_ID: Final = {id(kind): names for kind, names in SAFE_METHODS.items()}
_FACT_FIELDS_BY_ID: Final = {id(kind): names for kind, names in FACT_FIELDS.items()}


def _is_sized(value: object) -> bool:
    kind = type(value)
    return kind is str or kind is bytes or kind is list or kind is tuple


def _is_any(value: object, kinds: tuple[type, ...]) -> bool:
    """``type(value)`` is one of ``kinds``, by identity (no metaclass __eq__ runs)."""
    kind = type(value)
    return any(kind is k for k in kinds)


# Copies of a ``**d`` table one call makes: the call's own keyword dict, and again in
# _apply_ and in a builtin's wrapper (_named), each passing **kwargs on.
KWARGS_COPIES: Final = 3
# pow(b, e, m) costs about bits(e) * digits(m)**2 (30-bit digits; measured ~3 ns each):
# 20,000,000 keeps one call near 60 ms and allows 2,048-bit numbers (an RSA modulus and
# exponent: 9,300,000, ~20 ms).
MAX_MODPOW_COST: Final = 20_000_000
_POW_DIGIT_BITS: Final = 30


def _pow_digits(value: int) -> int:
    """CPython's 30-bit digits in ``value``, at least one."""
    return max(1, -(-value.bit_length() // _POW_DIGIT_BITS))


# round(x, -n) computes 10**n; 10,000 digits is ~1 ms, 10**7 digits is seconds.
MAX_ROUND_DIGITS: Final = 10_000
# Deepest tuple a probe may use as a key. CPython hashes tuples recursively in C with no
# guard (gh-154318) and overflows an 8 MiB stack near 130,000 levels; 1,000 leaves room
# for small thread stacks and is far beyond any real key.
MAX_KEY_DEPTH: Final = 1000
# Parts of a key tuple counted as its hash visits them, repeats included.
MAX_KEY_NODES: Final = 100_000
_BULK_METHODS: Final = _names(
    "extend update union intersection difference symmetric_difference issubset issuperset "
    "isdisjoint"
)
_KEYED_METHODS: Final = frozenset({"get", "pop", "setdefault", "add", "discard", "remove"})
# Every name _sized_method may wrap, for some type; other safe methods are returned as they
# are without asking it (a test checks it returns None for all of them).
# Methods that return a copy up to a few times their source's size: charged to the budget.
_CASE_METHODS: Final = _names("upper lower casefold swapcase title capitalize")
# Methods whose result is at most their source again (a trim, a prefix cut, the two sides of
# a partition): charged the source's size. Without it, a loop keeping s.strip() of a 15 MB
# string built gigabytes uncharged.
_TRIM_METHODS: Final = _names("strip lstrip rstrip removeprefix removesuffix partition rpartition")
_COPYING_METHODS: Final[dict[str, tuple[type, ...]]] = {
    "copy": (list, dict, set, frozenset),
    **dict.fromkeys(_CASE_METHODS, (str, bytes)),
    **dict.fromkeys(_TRIM_METHODS, (str, bytes)),
}
# Set methods that return a new set, and those whose result can hold the others' items.
_SET_RESULTS: Final = _names("union intersection difference symmetric_difference")
_SET_GROWS: Final = _names("union symmetric_difference update")
SIZED_METHOD_NAMES: Final = (
    _names(
        "join center ljust rjust zfill expandtabs replace encode decode hex split rsplit "
        "splitlines format keys values items index"
    )
    | _BULK_METHODS
    | _KEYED_METHODS
    | frozenset(_COPYING_METHODS)
)
_CODECS: Final = frozenset({"utf-8", "utf8", "UTF-8", "ascii", "latin-1", "latin1"})
_CODEC_ERRORS: Final = frozenset({"strict", "replace", "ignore", "backslashreplace"})


# Every character str.splitlines() breaks on (bytes break on the first two only).
_LINE_BREAKS: Final = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _line_bound(text: str | bytes) -> int:
    """At most one more line than there are line-break characters, by C counts."""
    if isinstance(text, bytes):
        return text.count(b"\n") + text.count(b"\r") + 1
    return sum(text.count(mark) for mark in _LINE_BREAKS) + 1


def _len(value: object) -> int:
    return len(cast("Sized", value))


def _int(value: object) -> int:
    return int(cast("int", value))


def _named(name: str, value: object) -> object:
    """Our wrappers, dressed as the builtins they stand for: a probe that prints ``sorted``
    sees ``<function sorted>``, not the sandbox's insides."""
    if type(value) is types.MethodType or (
        type(value) is types.FunctionType and value.__name__ == "<lambda>"
    ):
        inner = value

        def wrapper(*args: object, **kwargs: object) -> object:
            return inner(*args, **kwargs)

        wrapper.__name__ = wrapper.__qualname__ = name
        return wrapper
    return value


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


class _Printer:
    """``print`` for probes: writes rendered text to the capped output buffer."""

    __slots__ = ("_sandbox",)

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def _call_print(
        self,
        *objects: object,
        sep: object = " ",
        end: object = "\n",
        file: object = None,
        flush: object = False,
    ) -> None:
        state = self._sandbox.state
        if file is not None:
            state.deny("print", "print(file=...) is not available; output goes to the operator")
        sep_text = " " if sep is None else sep
        end_text = "\n" if end is None else end
        if type(sep_text) is not str or type(end_text) is not str:
            raise TypeError("sep and end must be strings")
        # Piece by piece, never joined: the buffer keeps what fits and nothing is built
        # beyond it, however many large arguments there are.
        for index, obj in enumerate(objects):
            if index:
                state.output.write(sep_text)
            state.output.write(to_text(obj, state.render_limits))
            self._stop_if_full()
        state.output.write(end_text)
        self._stop_if_full()

    def _stop_if_full(self) -> None:
        state = self._sandbox.state
        if state.output.truncated:
            raise state.budget.stop(
                "limit", "limits.max_output", f"output over {state.output.max_bytes} bytes"
            )


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
