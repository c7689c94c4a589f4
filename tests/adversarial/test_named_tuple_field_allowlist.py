"""Technique: read a named tuple's field that the allowlist does not name, by position.
For an object, the allowlist governs attributes, and rendering a fully allowed object
shows only the attributes whose paths are allowed; a named tuple's fields are attributes
too (``creds.user``), but item access is transparent to the path, so ``creds[0]``,
iteration and the tuple's rendering show every field whatever the allowlist says.
Source: Python docs, collections.namedtuple ("fields are also accessible by index");
DESIGN of proxy.py ("item access is transparent to the path")."""

import pytest

# creds itself and its password field are allowed; its user field is not.
ZOO = {"zoo": {"target": "__main__:zoo", "allow": ["creds", "creds.password", "slotted"]}}


def test_object_rendering_hides_attributes_not_allowed(held) -> None:
    """Harmless: rendering an allowed object leaves out attributes the policy does not
    name (the behaviour the named tuple should match)."""
    record = held("print(zoo.slotted)", frozenset({"ok"}), expose=ZOO)
    assert "'slot'" not in record["_report"], record["_report"]


@pytest.mark.xfail(
    strict=True,
    reason="gap: a named tuple's fields are not filtered by the allowlist when read by "
    "index, iteration or rendering (item access is transparent to the path); fixing it "
    "changes what a fully allowed tuple renders as, a design decision",
)
def test_named_tuple_field_not_in_allowlist_is_not_read_by_index(held) -> None:
    """A field whose attribute path the policy does not allow is not readable by index."""
    record = held("print(zoo.creds[0])", frozenset({"ok", "denied", "error"}), expose=ZOO)
    assert "ada" not in record["_report"], record["_report"]
