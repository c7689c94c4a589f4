"""host_keys.py: which host dicts may be searched with their own get, and lookups that
never call a host key's __eq__ (no subprocess)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from safeprobe.probe.host_keys import NOT_FOUND, builtin_keys_only, find_name, plain_keys_only

_BUILTIN_KEY_TYPES = (str, int, float, bool, bytes, type(None), complex)


class HostStr(str):
    """A host key that would run code if a lookup compared it."""

    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        raise AssertionError("a host key's __eq__ ran")


class SubStr(str):
    """A str subclass key (no code of its own: hypothesis builds dicts of them)."""


_KEYS = st.one_of(
    st.text(max_size=4),
    st.integers(),
    st.binary(max_size=4),
    st.none(),
    st.text(max_size=4).map(SubStr),
    st.tuples(st.text(max_size=2), st.integers()),
)


@given(st.lists(_KEYS, max_size=30))
def test_builtin_keys_only_answers_as_its_definition(keys: list[object]) -> None:
    """The exact-str first pass changes no answer, for a keys view, an iterator or a tuple."""
    expected = all(type(key) in _BUILTIN_KEY_TYPES for key in keys)
    mapping = dict.fromkeys(keys)
    assert builtin_keys_only(mapping.keys()) is (
        all(type(key) in _BUILTIN_KEY_TYPES for key in mapping)
    )
    assert builtin_keys_only(iter(keys)) is expected
    assert builtin_keys_only(tuple(keys)) is expected


def test_plain_keys_only_sees_a_host_key_after_str_keys() -> None:
    """One host str subclass among many exact str keys makes the dict not plain."""
    mapping: dict[object, object] = {f"module_{i}": i for i in range(1000)}
    assert plain_keys_only(mapping)
    mapping[HostStr("module_x")] = 0
    assert not plain_keys_only(mapping)
    mapping.pop("module_5")
    mapping[("a", 1)] = 0
    assert not plain_keys_only(mapping)


def test_find_name_never_compares_a_host_key() -> None:
    """A name stored under a host str subclass key is not found, and its __eq__ never runs."""
    mapping: dict[str, object] = {f"module_{i}": i for i in range(1000)}
    mapping[HostStr("target")] = "host"
    assert find_name(mapping, "target") is NOT_FOUND
    assert find_name(mapping, "module_7") == 7
