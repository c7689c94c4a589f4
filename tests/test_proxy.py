"""Read-only views: allowlist, static reads, redaction, rendering, refused writes."""

from __future__ import annotations

import collections
import copy
import dataclasses
import enum
import fnmatch
import pickle
import types
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeprobe.errors import ProbeDenied
from safeprobe.probe.allowlist import Access, Allowlist
from safeprobe.probe.host_keys import NOT_FOUND, KeyMemo, find_key
from safeprobe.probe.redaction import MAX_REDACTION_KEY_PARTS, REDACTED, Redactor
from safeprobe.probe.render import RenderLimits, render
from safeprobe.probe.static_reads import read_attribute
from safeprobe.probe.view_context import ViewContext
from safeprobe.probe.views import View, wrap
from tests.strategies import host_values


def _ctx(
    allow: tuple[str, ...] = ("**",), *, max_items: int = 1000, denials: list | None = None
) -> ViewContext:
    sink = denials if denials is not None else []
    return ViewContext(
        exposure="x",
        allowlist=Allowlist.parse(allow),
        redactor=Redactor.with_defaults(),
        max_items=max_items,
        render_limits=RenderLimits(max_depth=6, max_items=1000, max_str_chars=10_000),
        on_denied=sink.append,
    )


class Plain:
    def __init__(self) -> None:
        self.data = {"a": "aaa"}
        self.inner = Inner()
        self.password = "hunter2"
        self._private = 1

    @property
    def computed(self) -> int:
        raise AssertionError("host code ran")

    def method(self) -> None:
        raise AssertionError("host code ran")


class Inner:
    __slots__ = ("level", "secret_key")

    def __init__(self) -> None:
        self.level = 3
        self.secret_key = "s3"


class Sneaky:
    def __getattr__(self, name: str) -> object:
        raise AssertionError("host __getattr__ ran")

    def __getattribute__(self, name: str) -> object:
        raise AssertionError("host __getattribute__ ran")

    def __repr__(self) -> str:
        raise AssertionError("host __repr__ ran")


class Point(NamedTuple):
    x: int
    y: int


@dataclasses.dataclass
class Config:
    name: str
    retries: int


# ---- allowlist ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patterns", "path", "access"),
    [
        (("data",), ("data",), Access.FULL),
        (("data",), (), Access.FULL),
        ((), (), Access.FULL),
        ((), ("data",), Access.NONE),
        (("data",), ("other",), Access.NONE),
        (("data.*",), ("data",), Access.TRAVERSE),
        (("data.*",), ("data", "x"), Access.FULL),
        (("data.*",), ("data", "x", "y"), Access.NONE),
        (("data.**",), ("data", "x", "y"), Access.FULL),
        (("data.**",), ("data",), Access.FULL),
        (("**",), (), Access.FULL),
        (("**",), ("a", "b", "c"), Access.FULL),
        (("a.**.z",), ("a", "b", "c"), Access.TRAVERSE),
        (("a.**.z",), ("a", "b", "z"), Access.FULL),
        (("*.level",), ("inner",), Access.TRAVERSE),
    ],
)
def test_allowlist_answers_full_traverse_or_none(patterns, path, access) -> None:
    """`*` is one name, `**` any depth; a prefix of an allowed path may only be traversed."""
    assert Allowlist.parse(patterns).access(path) == access


def test_allowlist_rejects_bad_patterns() -> None:
    """An allow pattern with a dunder name is rejected."""
    with pytest.raises(ValueError, match="bad allow pattern"):
        Allowlist.parse(["data.__class__"])


# ---- static reads ------------------------------------------------------------------------


def test_read_attribute_never_runs_properties_or_methods() -> None:
    """Properties and methods are refused by rule, before any host code runs."""
    obj = Plain()
    assert read_attribute(obj, "data") == {"a": "aaa"}
    with pytest.raises(ProbeDenied, match="property"):
        read_attribute(obj, "computed")
    with pytest.raises(ProbeDenied, match="method"):
        read_attribute(obj, "method")


def test_read_attribute_bypasses_host_getattribute() -> None:
    """Neither __getattribute__ nor __getattr__ of the host class runs."""
    obj = Sneaky()
    object.__setattr__(obj, "value", 7)
    assert read_attribute(obj, "value") == 7
    with pytest.raises(AttributeError):
        read_attribute(obj, "missing")


def test_read_attribute_reads_slots_and_namedtuple_fields() -> None:
    """read_attribute reads slots and namedtuple fields."""
    assert read_attribute(Inner(), "level") == 3
    assert read_attribute(Point(1, 2), "y") == 2


def test_render_of_hostile_object_runs_no_host_code() -> None:
    """repr of a view over an object with a raising __repr__ is structural."""
    view = wrap(Sneaky(), (), _ctx())
    assert repr(view) == "Sneaky()"


# ---- views -------------------------------------------------------------------------------


def test_view_of_dict_renders_exactly_like_python() -> None:
    """A view of a dict renders by repr, str and format exactly as the dict does."""
    data = {
        "a": "aaa",
        "b": [1, 2.5, None, True],
        "c": (1,),
        "d": {"x": b"y"},
        "e": set(),
        "f": frozenset(),
    }
    view = wrap(data, (), _ctx())
    assert repr(view) == repr(data)
    assert str(view) == str(data)
    assert f"{view}" == str(data)


def test_redaction_applies_on_every_way_out() -> None:
    """A secret key reads as the marker via item, get, values, items, repr and f-string."""
    data = {"user": "ada", "Session-Token": "tok", "db_password": "pw"}
    view = wrap(data, (), _ctx())
    assert view["Session-Token"] is REDACTED
    assert view.sp_m_get("db_password") is REDACTED
    assert REDACTED in view.sp_m_values()
    assert ("db_password", REDACTED) in view.sp_m_items()
    text = repr(view) + str(view) + f"{view}" + format(view, ">5")
    assert "tok" not in text
    assert "pw'" not in text
    assert "'db_password': <redacted>" in repr(view)


# Glob patterns with the characters fnmatch gives meaning to, and names made of them.
_GLOBS = st.lists(st.text(alphabet="ab*?[]!-_", max_size=6), max_size=4).map(tuple)


@given(_GLOBS, st.text(alphabet="abAB*?[]!-_\n", max_size=10))
def test_redaction_matches_exactly_as_fnmatch_would(patterns: tuple[str, ...], name: str) -> None:
    """The fast matcher hides a name exactly when fnmatchcase matches it to some pattern."""
    normalized = name.lower().replace("_", "").replace("-", "")
    expected = any(fnmatch.fnmatchcase(normalized, p) for p in patterns)
    assert Redactor(patterns).hides(name) is expected


# Capital sigma lowers to one of two small sigmas by context (final or not): names joined
# for the batch check must lower as they do alone.
_SIGMAS = "\u03a3\u03c3\u03c2"


# Names in pieces joined by what normalization drops (or by a newline), in either case.
_NAME = st.builds(
    lambda parts, sep, upper: sep.join(parts).upper() if upper else sep.join(parts),
    st.lists(st.text(alphabet="ab" + _SIGMAS, min_size=1, max_size=3), min_size=1, max_size=3),
    st.sampled_from(["_", "-", "", "\n", "-_"]),
    st.booleans(),
)
_NAMES = st.lists(_NAME, min_size=1, max_size=4)
# "Contains" patterns: with any other kind, the batch check always answers "unsure".
_PATTERNS = st.lists(
    st.text(alphabet="ab\n" + _SIGMAS[1:], min_size=1, max_size=3).map(lambda t: f"*{t}*"),
    max_size=3,
)


@given(_NAMES, _PATTERNS, st.data())
def test_none_hidden_is_never_wrong(names: list[str], patterns: list[str], data) -> None:
    """The batch check over many names says "none is secret" only when hides agrees for each;
    half the time one pattern is a piece of some name as normalized, which it must find."""
    if data.draw(st.booleans()):
        name = data.draw(st.sampled_from(names))
        normalized = name.lower().replace("_", "").replace("-", "")
        start = data.draw(st.integers(0, len(normalized)))
        end = data.draw(st.integers(start, len(normalized)))
        patterns = [*patterns, f"*{normalized[start:end]}*"]
    redactor = Redactor(tuple(patterns))
    if redactor.none_hidden(list(names)):
        assert not any(redactor.hides(name) for name in names)


def test_one_secret_key_among_many_is_redacted_in_every_walk() -> None:
    """A large mapping with one secret key: values() and items() hide exactly that value."""
    data: dict[object, object] = {f"k{i}": i for i in range(5000)}
    data["api_token"] = "tok"
    data[7] = "seven"
    view = wrap(data, (), _ctx(max_items=10_000))
    values = view.sp_m_values()
    assert values.count(REDACTED) == 1
    assert "tok" not in values
    assert dict(view.sp_m_items())["api_token"] is REDACTED
    assert dict(view.sp_m_items())[7] == "seven"
    del data[7]
    assert dict(view.sp_m_items())["api_token"] is REDACTED  # str keys only: the batch path


def test_redacted_attribute_reads_as_marker() -> None:
    """A redacted attribute reads as the marker, at any depth, and never shows its value."""
    view = wrap(Plain(), (), _ctx())
    assert view.sp_getattr("password") is REDACTED
    assert view.sp_getattr("inner").sp_getattr("secret_key") is REDACTED
    assert "hunter2" not in repr(view)
    assert "s3" not in repr(view)


def test_attribute_outside_allowlist_is_denied_and_recorded() -> None:
    """An attribute outside the allowlist is denied, and the denial is recorded."""
    denials: list[ProbeDenied] = []
    view = wrap(Plain(), (), _ctx(("data",), denials=denials))
    assert view.sp_getattr("data")["a"] == "aaa"
    with pytest.raises(ProbeDenied, match=r"x\.inner is not in the allowlist"):
        view.sp_getattr("inner")
    assert [d.rule for d in denials] == ["allowlist"]


def test_traverse_only_path_refuses_items_and_iteration() -> None:
    """A prefix of an allowed path leads on to it but shows nothing itself."""
    holder = Plain()
    holder.inner = {"level": 1}  # type: ignore[assignment]
    view = wrap(holder, (), _ctx(("inner.level",)))
    inner = view.sp_getattr("inner")
    with pytest.raises(ProbeDenied):
        inner["level"]
    with pytest.raises(ProbeDenied):
        list(inner)
    assert repr(inner) == "<not allowed>"


@pytest.mark.parametrize(
    "write",
    [
        lambda v: v.__setitem__("a", 1),
        lambda v: v.__delitem__("a"),
        lambda v: setattr(v, "data", 1),
        lambda v: delattr(v, "data"),
        lambda v: object.__getattribute__(v, "sp_refuse_write")(),
    ],
)
def test_every_write_through_a_view_is_refused(write) -> None:
    """Every kind of write through a view is refused, and the wrapped dict is unchanged."""
    data = {"a": 1}
    view = wrap(data, (), _ctx())
    with pytest.raises(ProbeDenied, match="read-only"):
        write(view)
    assert data == {"a": 1}


def test_views_cannot_be_pickled_or_copied_into_the_host_object() -> None:
    """A view cannot be pickled, and a copy of its copy is a plain value."""
    view = wrap({"a": 1}, (), _ctx())
    with pytest.raises(TypeError):
        pickle.dumps(view)
    clone = copy.copy(view.sp_m_copy())
    assert clone == {"a": 1}


def test_iteration_is_a_snapshot() -> None:
    """A host thread adding keys during iteration neither breaks nor is seen by the loop."""
    data = {i: i for i in range(10)}
    view = wrap(data, (), _ctx())
    seen = []
    for key in view:
        data[key + 100] = 0
        seen.append(key)
    assert seen == list(range(10))


def test_container_over_max_items_is_refused() -> None:
    """Iterating a container over max_items is refused."""
    view = wrap(list(range(50)), (), _ctx(max_items=10))
    with pytest.raises(ProbeDenied, match="max_items"):
        list(view)


def test_deque_namedtuple_dataclass_and_sets_render() -> None:
    """Deques, namedtuples, dataclasses and sets render as plain Python prints them."""
    ctx = _ctx()
    assert repr(wrap(collections.deque([1, 2]), (), ctx)) == "deque([1, 2])"
    assert repr(wrap(Point(1, 2), (), ctx)) == "Point(x=1, y=2)"  # as plain Python prints it
    assert repr(wrap(Config("svc", 3), (), ctx)) == "Config(name='svc', retries=3)"
    assert repr(wrap({3}, (), ctx)) == "{3}"
    assert repr(wrap(frozenset({1}), (), ctx)) == "frozenset({1})"


def test_rendering_is_bounded_and_marks_cuts() -> None:
    """Rendering is bounded in items, characters and depth, and marks each cut."""
    limits = RenderLimits(max_depth=2, max_items=3, max_str_chars=5)
    assert render(list(range(10)), depth=0, limits=limits) == "[0, 1, 2, …(+7 more)]"
    assert render("abcdefgh", depth=0, limits=limits) == "'abcde'…(+3 chars)"
    assert render([[[1]]], depth=0, limits=limits) == "[[[…]]]"


def test_mapping_lookup_never_calls_missing_of_defaultdict() -> None:
    """dict.get on the host object: a defaultdict is not grown by a probe's lookup."""
    data: collections.defaultdict[str, list[int]] = collections.defaultdict(list)
    view = wrap(data, (), _ctx())
    with pytest.raises(KeyError):
        view["new"]
    assert dict(data) == {}


def test_unhashable_or_host_keys_are_refused() -> None:
    """Looking up a view by a key that is itself a view is refused."""
    view = wrap({"a": 1}, (), _ctx())
    with pytest.raises(ProbeDenied, match="key"):
        view[wrap([1], (), _ctx())]


# ---- properties --------------------------------------------------------------------------


def _walk(value: object, depth: int = 0) -> None:
    """Exercise every read a probe can do on a view, recursively."""
    if depth > 4 or not isinstance(value, View):
        return
    repr(value)
    str(value)
    kind = value.sp_kind
    if kind == "object":
        return
    len(value)
    bool(value)
    for item in value:
        _walk(item, depth + 1)
    if kind == "mapping":
        for key, item in value.sp_m_items():
            _walk(item, depth + 1)
            if type(key) in (str, int, float, bytes, bool) or key is None:
                _walk(value[key], depth + 1)
    elif kind == "sequence" and len(value):
        _walk(value[0], depth + 1)
        _walk(value[0:2], depth + 1)


@given(host_values())
def test_reading_never_changes_the_host(value: object) -> None:
    """Any sequence of reads through a view leaves the host value exactly as it was."""
    before = repr(value)
    view = wrap(value, (), _ctx())
    _walk(view)
    assert repr(value) == before


@given(host_values())
def test_no_read_hands_out_a_raw_mutable_host_object(value: object) -> None:
    """Everything a view gives back is a scalar, the marker, a view or a fresh container."""
    view = wrap(value, (), _ctx())
    if not isinstance(view, View) or view.sp_kind == "object":
        return
    outputs = list(view)
    if view.sp_kind == "mapping":
        outputs += [v for _, v in view.sp_m_items()]
    for out in outputs:
        assert (
            type(out) in (int, float, complex, str, bytes, bool, type(None), View)
            or out is REDACTED
        )
        if isinstance(out, View):
            assert out.sp_obj is not value


@given(host_values())
def test_repr_of_builtin_values_matches_python(value: object) -> None:
    """For plain builtin data (no secrets, within bounds) the view renders as repr() does."""
    view = wrap(value, (), _ctx())
    rendered = repr(view)
    if "redacted" not in rendered and "…" not in rendered:
        assert rendered == repr(value)


# -- lookups that never compare with a host key ---------------------------------------------


class _CountingKey(str):
    """A host str subclass key that hashes like its text and counts comparisons."""

    calls = 0
    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        _CountingKey.calls += 1
        return str.__eq__(self, other)


_PLAIN_SCALARS = st.one_of(st.text(max_size=4), st.integers(-3, 3), st.binary(max_size=2))
_PLAIN_KEYS = st.one_of(_PLAIN_SCALARS, st.tuples(_PLAIN_SCALARS, _PLAIN_SCALARS))


@given(st.dictionaries(_PLAIN_KEYS, st.integers()), _PLAIN_KEYS, st.booleans())
def test_find_key_agrees_with_dict_get_and_never_calls_a_host_eq(
    mapping: dict[object, int], key: object, hostile: bool
) -> None:
    """Among plain keys find_key answers as dict.get, and beside a hostile key (never equal
    to a generated one) still does, without calling the hostile key's __eq__."""
    expected = mapping.get(key, NOT_FOUND)
    if hostile:
        mapping = {**mapping, _CountingKey("hostile-key"): -1}
    before = _CountingKey.calls
    assert find_key(mapping, key, KeyMemo()) == expected
    assert find_key(mapping, key) == expected
    assert _CountingKey.calls == before


def test_read_attribute_ignores_a_hostile_instance_or_class_key() -> None:
    """Instance and class namespaces holding a hostile key answer without calling it."""

    class Host:
        pass

    Shaded = type("Shaded", (), {_CountingKey("shade"): 1, "plain": 2})
    obj = Host()
    obj.__dict__[_CountingKey("label")] = "x"
    obj.__dict__["value"] = 3
    before = _CountingKey.calls
    assert read_attribute(obj, "value") == 3
    with pytest.raises(AttributeError):
        read_attribute(obj, "label")
    assert read_attribute(Shaded(), "plain") == 2
    with pytest.raises(AttributeError):
        read_attribute(Shaded(), "shade")
    assert _CountingKey.calls == before


class _Kind(enum.Enum):
    PASSWORD = 1
    FIRST = "session_id"
    PLAIN = 3


@pytest.mark.parametrize(
    ("key", "hidden"),
    [
        (("db", "password"), True),
        (("db", ("nested", b"api_token")), True),
        (frozenset({"x", "secret_sauce"}), True),
        (_Kind.PASSWORD, True),
        (_Kind.FIRST, True),
        (("db", _Kind.PASSWORD), True),
        (_Kind.PLAIN, False),
        (("db", "host", 3), False),
        (frozenset({1, 2}), False),
    ],
)
def test_compound_keys_are_secret_when_a_part_is(key: object, hidden: bool) -> None:
    """A tuple, frozenset or Enum key is secret exactly when a str part, name or value is."""
    assert Redactor.with_defaults().hides(key) is hidden


def test_a_compound_key_too_large_to_judge_is_secret() -> None:
    """Past MAX_REDACTION_KEY_PARTS the redactor fails closed, even for a huge shared tree."""
    key: tuple[object, ...] = ("a",)
    for _ in range(40):
        key = (key, key)
    assert Redactor.with_defaults().hides(key) is True
    assert Redactor.with_defaults().hides(tuple(range(MAX_REDACTION_KEY_PARTS + 1))) is True


def test_the_attempt_memo_answers_for_large_dicts_and_notices_a_new_hostile_key() -> None:
    """A large dict checked once per attempt is searched with dict.get while plain, and by
    the exact-type scan once a hostile key is added (its size changed)."""
    mapping: dict[object, object] = {("h", i): i for i in range(200)}
    memo = KeyMemo()
    assert find_key(mapping, ("h", 5), memo) == 5
    mapping[_CountingKey("late")] = -1
    before = _CountingKey.calls
    assert find_key(mapping, ("h", 7), memo) == 7
    assert find_key(mapping, "late", memo) is NOT_FOUND
    assert _CountingKey.calls == before


def test_a_view_of_an_object_or_set_compares_by_identity_without_error() -> None:
    """Only views of plain sequences and mappings compare by content; any other view is
    equal to itself alone, and comparing it with a number raises nothing (a regression:
    the content check measured the object's length first)."""
    ctx = _ctx()
    worker = wrap(types.SimpleNamespace(name="w1"), (), ctx)
    assert (worker == 1) is False
    assert (worker != 1) is True
    assert worker == worker
    assert (wrap({1, 2}, (), ctx) == wrap({1, 2}, (), ctx)) is False
