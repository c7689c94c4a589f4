"""Technique: read a view through the C paths a mapping is unpacked by: ``{**view}`` and
``f(**view)`` call ``keys()`` and ``__getitem__`` from C, ``dict(view)``/``update``/``|=`` copy
pairs, ``[*view]`` and ``a, b = view`` iterate it. Each must give keys and redacted values
only, and never write to the host.
Source: RestrictedPython docs on ``_apply_`` (``**kwargs`` is only collapsed, not guarded);
pyjail CTF writeups on ``{**x}`` and star-unpacking as unguarded access."""

import pytest

PROBES = [
    "print({**service.cache['user:1']})",
    "print(dict(service.cache['user:1']))",
    "def f(**kw):\n    return kw\nprint(f(**service.cache['user:1']))",
    "d = {}\nd.update(service.cache['user:1'])\nprint(d)",
    "d = {'name': 1}\nd |= service.cache['user:1']\nprint(d)",
    "print(dict(**service.cache['user:1'], extra=1))",
    "a, b = service.cache['user:1']\nprint(a, b, service.cache['user:1'][b])",
]

KEYS_ONLY = [
    "print([*service.cache['user:1']], {*service.cache['user:1']})",
    "print(*service.cache['user:1'])",
]


@pytest.mark.parametrize("probe", PROBES)
def test_unpacking_a_view_is_redacted(attack, probe: str) -> None:
    """Every C path that copies a view's pairs gives a redacted value as its marker."""
    record = attack(probe, frozenset({"ok"}))
    assert "<redacted>" in record["_report"]


@pytest.mark.parametrize("probe", KEYS_ONLY)
def test_star_unpacking_a_view_gives_keys(attack, probe: str) -> None:
    """Star-unpacking a view gives its keys."""
    record = attack(probe, frozenset({"ok"}))
    assert "session_token" in record["_report"]
