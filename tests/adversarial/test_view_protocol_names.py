"""Technique: call the wrapper instead of the wrapped. A read-only proxy is only as strong as
the names it answers itself: a probe that reaches the proxy's own members (its target, its
context, its unguarded readers) holds the host object without the guard. The view protocol
(views.py, view_methods.py) is a set of public ``sp_*`` members, so the underscore rule does
not cover them; every attribute read of a view must still be a read of the *host* value's
attribute under the allowlist, by any spelling (``view.x``, ``getattr``, ``hasattr``, format
fields). Source: Zope's security proxies ("zope.security.proxy: the proxy itself has no
public attributes"); RestrictedPython docs, "Guards" (``_getattr_`` sees every read)."""

import pytest

ZOO = {"zoo": {"target": "__main__:zoo", "allow": ["**"]}}
PROTOCOL_NAMES = [
    "sp_obj",
    "sp_ctx",
    "sp_getattr",
    "sp_getitem",
    "sp_pairs",
    "sp_snapshot",
    "sp_m_items",
    "sp_refuse_write",
    "sp_wrap_each",
]

PROBES = [
    *(f"print(zoo.{name})" for name in PROTOCOL_NAMES),
    *(f"print(getattr(zoo, {name!r}))" for name in PROTOCOL_NAMES),
    "print(getattr(zoo.headers, 'sp_obj'))",
    "print('{0.sp_obj}'.format(zoo))",
    "print(zoo.sp_getattr('headers'))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_view_protocol_member_is_not_reachable(held, probe: str) -> None:
    """A view's own sp_* member is never what a probe's attribute read returns."""
    record = held(probe, frozenset({"error", "denied"}), expose=ZOO)
    assert "AttributeError" in record["reason"] or record["outcome"] == "denied", record
    for internal in ("ViewContext", "bound method", "View", "Allowlist", " at 0x"):
        assert internal not in record["_report"], record["_report"]


def test_hasattr_answers_for_the_host_value(held) -> None:
    """hasattr of a protocol name asks the host value, which has no such attribute."""
    record = held(
        "print([hasattr(zoo, n) for n in ('sp_obj', 'sp_getattr', 'sp_m_items')])",
        frozenset({"ok"}),
        expose=ZOO,
    )
    assert "[False, False, False]" in record["_report"], record["_report"]


def test_protocol_names_outside_the_allowlist_are_denied(held) -> None:
    """Under a narrow allowlist the protocol names are just names it does not list."""
    record = held("print(my_object.sp_obj)", frozenset({"denied"}))
    assert "allowlist" in record["reason"], record
