"""The builtins a probe may call: passed through when they cannot iterate, allocate much or
reach an object, and otherwise our bounded wrappers.

Promise: a probe's builtins are exactly ``_PASS_THROUGH``, ``SAFE_EXCEPTIONS``, the type
tokens of value_access.py and the wrappers below; every wrapper that iterates walks a
guarded, ticking iterator under the item cap, every one that builds something large in one
C call (``pow``, ``round``, ``int``, ``bytes``, ``dict``, ``sum`` …) checks its size or
cost first, and ``isinstance``, ``typename`` and ``hasattr`` answer by identity, running no
host code. Threat model: SECURITY.md, "Code", "Memory" and "Time".
"""

from __future__ import annotations

import builtins
import math
import types
from collections.abc import Callable, Sized
from typing import TYPE_CHECKING, Final, cast

from safeprobe.probe.own_methods import TEXT_IDS, allowed_names, type_ids, without_repr
from safeprobe.probe.redaction import REDACTED as REDACTED_MARK
from safeprobe.probe.scalars import is_scalar
from safeprobe.probe.sizes import DICT_ITEM_BYTES, POINTER_BYTES, text_bytes
from safeprobe.probe.slots import TYPE_MRO, type_name
from safeprobe.probe.text import to_repr, to_text
from safeprobe.probe.value_access import integer_bits, token_kind, type_tokens
from safeprobe.probe.values import is_closed
from safeprobe.probe.view_render import record_fields
from safeprobe.probe.views import View

if TYPE_CHECKING:
    from safeprobe.probe.sandbox import Sandbox


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
# because its error message copies the argument (own_methods.without_repr).
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


# Types isinstance() may test against. Anything else would hand the probe a class.
# By id: type tests are by identity (a set of types would hash, and a host metaclass's
# __hash__/__eq__ is host code; SECURITY.md, "Host code").
_SAFE_TYPE_IDS: Final = frozenset(
    map(id, [int, float, complex, str, bytes, bool, list, tuple, dict, set, frozenset, range])
) | frozenset(map(id, [type(None), *SAFE_EXCEPTIONS]))

_NUMBER_IDS: Final = type_ids(int, float, complex, bool)


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


class Builtins:
    """The builtins dict of one attempt (``names``). A collaborator of the attempt's Sandbox:
    its wrappers walk, key and read through the Sandbox's guards and charge its budget."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self.state = sandbox.state
        self.budget = sandbox.budget
        self.comparisons = sandbox.comparisons
        self.values = sandbox.values
        self.names = self._make_builtins()
        # isinstance(x, str) in a probe names our wrapper; map it back to the type.
        # Keyed by id: the wrappers live as long as this sandbox's builtins do.
        self._wrapper_types: dict[int, type] = {
            id(self.names[name]): kind
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
                "list": lambda iterable=(): self._sandbox.materialize(iterable, "list()"),
                "tuple": lambda iterable=(): tuple(
                    self._sandbox.materialize(iterable, "tuple()", item_bytes=POINTER_BYTES)
                ),
                "set": lambda iterable=(): set(self._sandbox.keys(iterable)),
                "frozenset": lambda iterable=(): frozenset(self._sandbox.keys(iterable)),
                "dict": self._dict,
                "sorted": self._sorted,
                "reversed": lambda iterable: list(
                    reversed(
                        self._sandbox.materialize(iterable, "reversed()", item_bytes=POINTER_BYTES)
                    )
                ),
                "sum": self._sum,
                "min": self._reducer(min),
                "max": self._reducer(max),
                "any": lambda iterable: any(self._sandbox.guarded_iter(iterable)),
                "all": lambda iterable: all(self._sandbox.guarded_iter(iterable)),
                "enumerate": lambda iterable, start=0: enumerate(
                    self._sandbox.guarded_iter(iterable), start
                ),
                "zip": lambda *iterables, strict=False: zip(
                    *(self._sandbox.guarded_iter(i) for i in iterables), strict=strict
                ),
                "map": lambda function, *iterables: map(
                    function, *(self._sandbox.guarded_iter(i) for i in iterables)
                ),
                "filter": lambda function, iterable: filter(
                    function, self._sandbox.guarded_iter(iterable)
                ),
                "isinstance": self._isinstance,
                "pow": self._pow,
                "float": lambda value=0.0: without_repr(float, "could not convert to float", value),
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
            return self._sandbox.binop("**", base, exp)
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
        if args and id(type(args[0])) in TEXT_IDS:
            base = args[1] if len(args) > 1 else kwargs.get("base", 10)
            bits_per_char = math.log2(base) if type(base) is int and base >= 2 else 5.2
            self.budget.check_int_bits(int(_len(args[0]) * bits_per_char), "int()")
        return int(*args, **kwargs)  # type: ignore[call-overload, no-any-return]

    def _str(self, *args: object) -> str:
        if not args:
            return ""
        if len(args) > 1 and type(args[0]) is bytes:
            errors = args[2] if len(args) > 2 else "strict"
            self._sandbox.methods.check_codec(args[1], errors)
            # As bytes.decode: up to 4 bytes a character, 10 characters a byte escaped.
            each = 10 if errors == "backslashreplace" else 4
            self.budget.check_bytes(text_bytes(_len(args[0]) * each, 1), "str()")
            return str(*args)
        return to_text(args[0], self.state.render_limits)

    def _dict(self, *args: object, **kwargs: object) -> dict[object, object]:
        result: dict[object, object] = {}
        if args:
            pairs = self._sandbox.as_pairs(args[0])
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
        items = self._sandbox.materialize(iterable, "sum()")
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
                items = self._sandbox.materialize(args[0], what)
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
        items = self._sandbox.materialize(iterable, "sorted()", item_bytes=POINTER_BYTES // 2)
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
        target = value.sp_obj if type(value) is View else value
        # By the MRO's identities, not issubclass: Fraction and ChainMap are ABCs, whose
        # test walks their subclasses and asks each one's metaclass (host code, when the
        # host subclassed them with its own __subclasscheck__).
        wanted_ids = {id(kind) for kind in real}
        return any(id(klass) in wanted_ids for klass in TYPE_MRO.__get__(type(target)))

    def _typename(self, value: object) -> str:
        """``type(value).__name__``, from the C slot of the host value's class."""
        if type(value) is View:
            return type_name(type(value.sp_obj))
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
            return value.sp_has(name)
        if is_closed(value):
            return self.values.readable(value, name)
        allowed = allowed_names(type(value))
        return allowed is not None and name in allowed

    def _asdict(self, value: object) -> dict[str, object]:
        """A named tuple's, dataclass's, pydantic model's or namespace's fields as a dict,
        each read as ``value.field`` would be (allowlist, redaction): what ``_asdict()``
        gives, shallow (nested values stay views, unlike dataclasses.asdict)."""
        names = record_fields(value) if type(value) is View else None
        if names is None:
            raise TypeError("asdict() takes a named tuple, dataclass, pydantic model or namespace")
        self.budget.check_items(len(names), "asdict()", item_bytes=DICT_ITEM_BYTES)
        return {name: self._sandbox.guarded_getattr(value, name) for name in names}

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
            self._sandbox.methods.check_codec(encoding, errors)
            self.budget.check_bytes(text_bytes(len(source) * 4, 1), "bytes()")
            return bytes(source, cast(str, encoding), cast(str, errors))
        if type(source) is bytes:
            return source
        if type(source) is View:
            copy = source.sp_bytes()
            if copy is not None:
                return copy
        return bytes(cast("list[int]", self._sandbox.materialize(source, "bytes()")))


def _len(value: object) -> int:
    return len(cast("Sized", value))


def _named(name: str, value: object) -> object:
    """Our wrappers, dressed as the builtins they stand for: a probe that prints ``sorted``
    sees ``<function sorted>``, not the sandbox's insides."""
    if type(value) is types.FunctionType and value.__qualname__ != name:
        if value.__closure__ is not None:
            # A closure (a lambda, or a factory's inner function such as _reducer's) is
            # made by each attempt (it closes over its sandbox), so it is renamed in place:
            # no second function per builtin per attempt, and no second call each time the
            # probe calls it. Its factory's name (``Builtins._reducer.<locals>.reduce``)
            # never shows.
            value.__name__ = value.__qualname__ = name
            return value
        return _wrapped(name, value)
    if type(value) is types.MethodType:
        return _wrapped(name, value)
    return value


def _wrapped(name: str, inner: Callable[..., object]) -> object:
    """A function named ``name`` that calls ``inner``: for a method, or a function shared
    by every attempt, which renaming in place would rename for all of them."""

    def wrapper(*args: object, **kwargs: object) -> object:
        return inner(*args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = name
    return wrapper
