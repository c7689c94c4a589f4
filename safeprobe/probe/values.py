"""Stdlib value types a probe holds as they are: datetimes, Decimals, UUIDs, enum members …

Promise: a host value is handed to the probe itself (not a view) only when its exact type is
one of the immutable stdlib types below and everything it holds is too ("closed"): its
methods then run only the standard library's own code, never the host's, and cannot change
it. Such a value prints exactly as plain Python prints it (its own ``repr``/``str``, which
are known code), after a size check where the text could be large. A probe reads only the
accessors and pure methods listed per type, each with why it is safe; what they return is
checked again, and anything that is not a scalar or a closed value is refused. Arithmetic
whose result can grow (Fraction) is charged first; Decimal arithmetic runs in a fixed
context (``FIXED_DECIMAL_CONTEXT``), not one the host may have changed. A host subclass of
any of these types is not closed and stays a view. Threat model: SECURITY.md, "Stdlib values".
"""

from __future__ import annotations

import array
import collections
import datetime
import decimal
import enum
import fractions
import ipaddress
import pathlib
import sys
import types
import uuid
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, cast

from safeprobe.probe.enum_members import plain_enum_fields
from safeprobe.probe.numeric_hooks import numeric_abcs_plain
from safeprobe.probe.slots import TYPE_DICT, TYPE_MRO, TYPE_NAME
from safeprobe.probe.static_reads import instance_dict

_NONE_TYPE: Final = type(None)
_SCALAR_IDS: Final = frozenset(map(id, (str, int, float, bool, bytes, complex, _NONE_TYPE)))


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# ---- what each type lets a probe read --------------------------------------------------
# Every name below is a C getter or a stdlib method that computes from the value's own
# immutable fields and returns a new value: none writes, none reads the filesystem, none
# takes a callback. Left out on purpose: anything that takes or returns an arbitrary object
# or a generator (``ipaddress`` ``hosts()``/``subnets()`` can yield 2**64 addresses),
# ``timetuple()`` (a struct the renderer does not know), ``Path`` I/O (``exists``,
# ``read_text``, ``stat``, ``resolve`` …) and ``fromtimestamp``/``now`` class methods.

# The C named tuple date.isocalendar() returns; not importable by name.
_ISO_CALENDAR_DATE: Final = type(datetime.date(2000, 1, 1).isocalendar())
_DATE_READS: Final = "year month day weekday isoweekday isoformat isocalendar toordinal ctime"
_TIME_READS: Final = "hour minute second microsecond tzinfo fold utcoffset tzname dst"
# strftime is sized (``check_format``); replace() and astimezone() build a new value from
# numbers and a tzinfo the probe holds (itself a closed value, checked with the result).
_READS: Final[dict[type, frozenset[str]]] = {
    datetime.date: _names(f"{_DATE_READS} strftime replace"),
    datetime.datetime: _names(
        f"{_DATE_READS} {_TIME_READS} strftime replace date time timetz timestamp astimezone"
    ),
    datetime.time: _names(f"{_TIME_READS} isoformat strftime replace"),
    datetime.timedelta: _names("days seconds microseconds total_seconds"),
    datetime.timezone: _names("utcoffset tzname dst"),
    _ISO_CALENDAR_DATE: _names("year week weekday"),
    zoneinfo.ZoneInfo: _names("key utcoffset tzname dst"),
    # Under FIXED_DECIMAL_CONTEXT each result has at most 28 digits; as_integer_ratio()
    # can be as long as the exponent, so it is sized (check_call).
    decimal.Decimal: _names(
        "adjusted as_integer_ratio as_tuple compare copy_abs copy_negate is_finite is_infinite "
        "is_nan is_signed is_zero max min normalize quantize sqrt to_eng_string to_integral_value "
        "real imag conjugate"
    ),
    fractions.Fraction: _names(
        "numerator denominator as_integer_ratio limit_denominator real imag conjugate"
    ),
    uuid.UUID: _names("hex int bytes urn version variant"),
    ipaddress.IPv4Address: _names(
        "version max_prefixlen compressed exploded packed reverse_pointer is_private "
        "is_global is_loopback is_multicast is_reserved is_link_local is_unspecified"
    ),
    ipaddress.IPv6Address: _names(
        "version max_prefixlen compressed exploded packed reverse_pointer is_private "
        "is_global is_loopback is_multicast is_reserved is_link_local is_unspecified "
        "is_site_local ipv4_mapped scope_id"
    ),
    # broadcast_address and hostmask are cached properties: read through their function,
    # so the host's object is not written (see _uncached).
    ipaddress.IPv4Network: _names(
        "version network_address netmask hostmask broadcast_address prefixlen num_addresses "
        "with_prefixlen with_netmask with_hostmask compressed exploded is_private is_global "
        "is_loopback is_multicast is_reserved is_link_local is_unspecified overlaps "
        "subnet_of supernet_of"
    ),
    ipaddress.IPv6Network: _names(
        "version network_address netmask hostmask broadcast_address prefixlen num_addresses "
        "with_prefixlen with_netmask with_hostmask compressed exploded is_private is_global "
        "is_loopback is_multicast is_reserved is_link_local is_unspecified is_site_local "
        "overlaps subnet_of supernet_of"
    ),
    ipaddress.IPv4Interface: _names("ip network with_prefixlen with_netmask version compressed"),
    ipaddress.IPv6Interface: _names("ip network with_prefixlen with_netmask version compressed"),
    range: _names("start stop step count index"),
}
# Pure paths and concrete ones alike: only the lexical operations (no filesystem access).
_PATH_READS: Final = _names(
    "name suffix suffixes stem parent parts anchor drive root as_posix is_absolute "
    "is_relative_to joinpath with_name with_suffix with_stem relative_to match"
)
for _path_type in (
    pathlib.PurePosixPath,
    pathlib.PureWindowsPath,
    pathlib.PosixPath,
    pathlib.WindowsPath,
):
    _READS[_path_type] = _PATH_READS
del _path_type

# Enum members: their name and value (read from the member's own fields).
ENUM_READS: Final = _names("name value")

READS_BY_ID: Final = {id(kind): names for kind, names in _READS.items()}
_CACHED_PROPERTY_NAMES: Final = _names("broadcast_address hostmask")

# Types the probe may name in isinstance(), by the name it uses; the exact class.
ISINSTANCE_TYPES: Final[dict[str, type]] = {
    "date": datetime.date,
    "datetime": datetime.datetime,
    "time": datetime.time,
    "timedelta": datetime.timedelta,
    "timezone": datetime.timezone,
    "tzinfo": datetime.tzinfo,
    "ZoneInfo": zoneinfo.ZoneInfo,
    "Decimal": decimal.Decimal,
    "Fraction": fractions.Fraction,
    "UUID": uuid.UUID,
    "Enum": enum.Enum,
    "IntEnum": enum.IntEnum,
    "StrEnum": enum.StrEnum,
    "Flag": enum.Flag,
    "IntFlag": enum.IntFlag,
    "IPv4Address": ipaddress.IPv4Address,
    "IPv6Address": ipaddress.IPv6Address,
    "IPv4Network": ipaddress.IPv4Network,
    "IPv6Network": ipaddress.IPv6Network,
    "PurePath": pathlib.PurePath,
    "Path": pathlib.Path,
    "deque": collections.deque,
    "defaultdict": collections.defaultdict,
    "Counter": collections.Counter,
    "OrderedDict": collections.OrderedDict,
    "ChainMap": collections.ChainMap,
    "SimpleNamespace": types.SimpleNamespace,
    "bytearray": bytearray,
    "memoryview": memoryview,
    "array": array.array,
}

# Classes whose instances keep their state where a structural rendering does not look (C
# members, private slots): a view of one of them (a subclass, or one holding a host
# object) prints as "not shown" (view_render.py), never as an empty ``datetime()``.
_VALUE_CLASS_IDS: Final = frozenset(
    map(
        id,
        (
            datetime.date,
            datetime.time,
            datetime.timedelta,
            datetime.tzinfo,
            decimal.Decimal,
            fractions.Fraction,
            uuid.UUID,
            ipaddress.IPv4Address,
            ipaddress.IPv6Address,
            ipaddress.IPv4Network,
            ipaddress.IPv6Network,
            pathlib.PurePath,
            enum.Enum,
            range,
        ),
    )
)


def is_value_class(kind: type) -> bool:
    """Whether ``kind`` is, or derives from, a stdlib value type above: its MRO read from
    the C slot and compared by identity (no metaclass code runs)."""
    mro = TYPE_MRO.__get__(kind)
    return any(id(klass) in _VALUE_CLASS_IDS for klass in mro)


# ---- closed values --------------------------------------------------------------------

# Exact types that are closed whatever they hold: C types with only numbers inside.
_ALWAYS_CLOSED_IDS: Final = frozenset(
    map(id, (datetime.date, datetime.timedelta, decimal.Decimal, range))
)
# Exact types closed when their fields (slots, instance dict) are all closed: stdlib
# Python classes whose fields a host could in principle replace with its own objects.
_FIELD_CLOSED_IDS: Final = frozenset(
    map(
        id,
        (
            fractions.Fraction,
            uuid.UUID,
            ipaddress.IPv4Address,
            ipaddress.IPv6Address,
            ipaddress.IPv4Network,
            ipaddress.IPv6Network,
            ipaddress.IPv4Interface,
            ipaddress.IPv6Interface,
            pathlib.PurePosixPath,
            pathlib.PureWindowsPath,
            pathlib.PosixPath,
            pathlib.WindowsPath,
            _ISO_CALENDAR_DATE,  # a C named tuple of ints
            decimal.DecimalTuple,  # Decimal.as_tuple(): a named tuple of ints
        ),
    )
)
_TZ_TYPE_IDS: Final = frozenset(map(id, (datetime.timezone, zoneinfo.ZoneInfo)))
_ZONED_IDS: Final = frozenset(map(id, (datetime.datetime, datetime.time)))
_CANDIDATE_IDS: Final = _ALWAYS_CLOSED_IDS | _FIELD_CLOSED_IDS | _TZ_TYPE_IDS | _ZONED_IDS
# Fields (and items of its tuples) of one value looked at before it is judged not closed:
# real ones have a handful; a Decimal's as_tuple() has a digit each.
_MAX_FIELDS: Final = 4096
# Tuples nested in one value looked into before it is judged not closed: the test recurses,
# and an enum member's value may nest deeper than the recursion limit (3,000 deep raised
# RecursionError inside safeprobe on every read of it). A stdlib value nests two or three.
_MAX_DEPTH: Final = 32


def is_closed(value: object) -> bool:
    """Whether ``value`` is a closed stdlib value (see the module's promise). No host code
    runs: types are tested by identity, fields read through C descriptors. Scalars are not
    closed values (they are scalars); a tuple is one only inside a closed value."""
    if not may_be_closed(type(value)):
        return False  # the common answer, for every host object a walk meets: two C tests
    return _closed(value, [0])


def may_be_closed(kind: type) -> bool:
    """Whether a value of exactly ``kind`` may be a closed value: False means it never is,
    whatever it holds (a function of the type alone, for callers that remember it)."""
    return id(kind) in _CANDIDATE_IDS or issubclass(kind, enum.Enum)


def _closed(value: object, seen: list[int], depth: int = 0) -> bool:
    seen[0] += 1
    if seen[0] > _MAX_FIELDS or depth > _MAX_DEPTH:
        return False
    kind = type(value)
    kind_id = id(kind)
    if kind is decimal.Decimal or kind is fractions.Fraction:
        if not numeric_abcs_plain():
            return False
        if kind is decimal.Decimal:
            return True
    if kind_id in _SCALAR_IDS or kind_id in _ALWAYS_CLOSED_IDS:
        return True
    if kind_id in _ZONED_IDS:
        zone = cast("datetime.time", value).tzinfo  # a C getter of the exact type
        return zone is None or _closed(zone, seen)
    if kind is datetime.timezone:
        name = cast(datetime.timezone, value).tzname(None)  # C: the stored name or a str
        return type(name) is str
    if kind is zoneinfo.ZoneInfo:
        key_type: type = type(cast(zoneinfo.ZoneInfo, value).key)
        return key_type is str or key_type is _NONE_TYPE  # identity: no metaclass __eq__
    if kind is tuple:
        items = cast("tuple[object, ...]", value)
        return len(items) <= _MAX_FIELDS and all(_closed(item, seen, depth + 1) for item in items)
    if kind_id in _FIELD_CLOSED_IDS:
        if issubclass(kind, tuple):
            return all(
                _closed(item, seen, depth + 1)
                for item in tuple.__iter__(cast("tuple[object, ...]", value))
            )
        return all(_closed_field(field, seen, depth + 1) for field in _fields(value))
    if issubclass(kind, enum.Enum):
        return is_plain_enum_member(value, seen)
    return False


def is_plain_enum_member(value: object, seen: list[int] | None = None) -> bool:
    """An enum member of a plain enum class (enum_members.py) whose stored value (and sort
    order) are closed: its repr, str and format are the stdlib's code."""
    fields = plain_enum_fields(value)
    return fields is not None and all(
        _closed(field, seen if seen is not None else [0], 1) for field in fields
    )


def _closed_field(value: object, seen: list[int], depth: int) -> bool:
    # Path internals hold lists of str (3.12+: _raw_paths, _tail_cached).
    if type(value) is list:
        items = cast("list[object]", value)
        return len(items) <= _MAX_FIELDS and all(_closed(item, seen, depth) for item in items)
    return _closed(value, seen, depth)


def _fields(obj: object) -> list[object]:
    """The values in ``obj``'s instance dict and slots, read by C descriptors; only called
    for the exact stdlib types above, whose ``__dict__`` and slots are the C ones."""
    found: list[object] = []
    for klass in TYPE_MRO.__get__(type(obj)):
        for name, slot in list(TYPE_DICT.__get__(klass).items()):
            if type(slot) is types.MemberDescriptorType and name != "__weakref__":
                try:
                    found.append(slot.__get__(obj, type(obj)))
                except AttributeError:  # an empty slot
                    continue
            elif name == "__dict__" and type(slot) is types.GetSetDescriptorType:
                instance = slot.__get__(obj, type(obj))
                if type(instance) is not dict:
                    return [object()]  # not closed
                if len(instance) > _MAX_FIELDS or not all(type(k) is str for k in instance):
                    return [object()]
                found.extend(dict.values(instance))
    return found


def enum_data(member: object) -> str | int | None:
    """A str or int enum member's data as an exact str or int (StrEnum, IntEnum, IntFlag),
    copied by the builtin's own C method: the probe's str and int methods apply to it."""
    kind = type(member)
    if issubclass(kind, str):
        return str.__str__(cast(str, member))
    if issubclass(kind, int):
        return int.__int__(cast(int, member))
    return None


def enum_field(member: object, name: str) -> object:
    """``member.name`` / ``member.value`` as stored (a plain member's own fields)."""
    instance = instance_dict(member)
    if instance is None:
        raise AttributeError(name)
    return instance.get("_name_" if name == "name" else "_value_")


# ---- text -------------------------------------------------------------------------------

# A value whose text could pass this is marked by its size instead: like bytes (text.py).
MAX_VALUE_TEXT: Final = 1024 * 1024
_DECIMAL_DIGITS_PER_BYTE: Final = 19 / 8  # libmpdec: 19 decimal digits in a 64-bit word
_DIGITS_PER_BIT: Final = 0.30103


def text_bound(value: object) -> int:
    """At least the length of ``repr(value)`` and ``str(value)``, in O(1) for the types
    whose text grows with the value (Decimal digits, Fraction ints); small otherwise."""
    kind = type(value)
    if kind is decimal.Decimal:
        return decimal_digits(cast(decimal.Decimal, value)) + 32
    if kind is fractions.Fraction:
        fraction = cast(fractions.Fraction, value)
        longest = max(fraction.numerator.bit_length(), fraction.denominator.bit_length())
        if (
            sys.get_int_max_str_digits() == 0
            and longest * _DIGITS_PER_BIT > sys.int_info.default_max_str_digits
        ):
            # The host turned CPython's digit limit off: int-to-str is quadratic in the
            # digits (CVE-2020-10735), ~10 s for a 1,500,000-bit numerator in one call. As
            # an int is (render.int_text), a Fraction past the default limit is too long.
            return MAX_VALUE_TEXT + 1
        bits = fraction.numerator.bit_length() + fraction.denominator.bit_length()
        return int(bits * _DIGITS_PER_BIT) + 32
    if id(kind) in _FIELD_CLOSED_IDS and not issubclass(kind, tuple):
        # A path is as long as its parts, which the host may have made a million
        # characters long; a UUID or address is short. Repr may escape each character.
        return 4 * _fields_length(value) + 4096
    return 4096


def _fields_length(value: object) -> int:
    """The characters of the str fields of a field-closed value (and of its str lists),
    and the digits of its ints: what its text is made of."""
    total = 0
    for field in _fields(value):
        items = cast("list[object]", field) if type(field) is list else [field]
        for item in items:
            if type(item) is str:
                total += len(item)
            elif type(item) is int:
                total += int(item.bit_length() * _DIGITS_PER_BIT) + 1
    return total


def decimal_digits(value: decimal.Decimal) -> int:
    """At least as many digits as the Decimal's coefficient has, from its size in memory."""
    return int(sys.getsizeof(value) * _DECIMAL_DIGITS_PER_BYTE) + 19


def value_text(value: object, *, as_str: bool) -> str:
    """``str(value)`` or ``repr(value)`` of a closed value, as plain Python shows it; one
    too large to show is marked by its size. Runs only the stdlib's code."""
    if text_bound(value) > MAX_VALUE_TEXT:
        return f"{TYPE_NAME.__get__(type(value))}(…)"
    with decimal.localcontext(FIXED_DECIMAL_CONTEXT):
        return str(value) if as_str else repr(value)


def format_bound(value: object, spec: str) -> int:
    """At least the length of ``format(value, spec)``: strftime directives expand to at
    most a few dozen characters each; a Decimal in fixed-point ('f', '%', and 'g'/'' for
    some) is as long as its exponent; the spec's width and precision were capped before."""
    kind = type(value)
    base = text_bound(value) + 2 * len(spec) + 20_000
    if kind is datetime.datetime or kind is datetime.date or kind is datetime.time:
        return 64 * len(spec) + 64
    if kind is decimal.Decimal:
        number = cast(decimal.Decimal, value)
        exponent = abs(number.adjusted()) if number.is_finite() else 0
        return base + exponent
    return base


# Plain Python's default context, spelled out field by field: decimal.Context() would copy
# the fields the host may have changed in decimal.DefaultContext (a precision of 10**6 makes
# one division take minutes in C).
FIXED_DECIMAL_CONTEXT: Final = decimal.Context(
    prec=28,
    rounding=decimal.ROUND_HALF_EVEN,
    Emin=-999999,
    Emax=999999,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


# ---- reads ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Read:
    """What a probe's attribute read of a closed value gives, before its result check."""

    value: object


def read(value: object, name: str) -> object:
    """``value.name`` for a closed value when the name is listed for its type; the result
    as it is (a property's value, or the bound method). Raises LookupError when not listed.
    Cached properties are computed by their function, not stored on the host's object."""
    kind = type(value)
    if issubclass(kind, enum.Enum):
        if name not in ENUM_READS:
            raise LookupError(name)
        return enum_field(value, name)
    names = READS_BY_ID.get(id(kind))
    if names is None or name not in names:
        raise LookupError(name)
    if name in _CACHED_PROPERTY_NAMES and issubclass(kind, ipaddress._BaseNetwork):
        return _uncached(value, name)
    with decimal.localcontext(FIXED_DECIMAL_CONTEXT):
        return getattr(value, name)


def _uncached(value: object, name: str) -> object:
    for klass in TYPE_MRO.__get__(type(value)):
        found = TYPE_DICT.__get__(klass).get(name)
        if found is not None:
            function = cast(Callable[[object], object], getattr(found, "func", None))
            if function is None:
                raise LookupError(name)
            return function(value)
    raise LookupError(name)
