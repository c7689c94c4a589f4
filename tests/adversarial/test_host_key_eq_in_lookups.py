"""Technique: make a dict lookup run a host key's ``__eq__``. A dict compares the probed
key with every stored key of equal hash; a host ``str`` subclass that hashes like its text
and overrides ``__eq__`` sits in an instance ``__dict__``, a class namespace
(``type(name, bases, {EvilKey(...): ...})``) or a host mapping, and a lookup of the same
text from a probe calls it.
Source: CPython ``Objects/dictobject.c`` (``lookdict`` calls ``PyObject_RichCompare`` on a
hash match); Python data model, ``object.__hash__``; issue 11 of this project."""

import pytest

from tests.adversarial.conftest import REFUSED

EXPOSE = {
    "service": {
        "target": "__main__:service",
        "allow": ["guarded_obj", "guarded_obj.*", "shaded", "shaded.*", "evil_map"],
    }
}

# The instance __dict__ holds EvilKey("label").
INSTANCE_DICT = "print(service.guarded_obj.label)"
# The class namespace holds EvilKey("shade").
CLASS_NAMESPACE = "print(service.shaded.shade)"
CLASS_NAMESPACE_OTHER = "print(service.shaded.plain)"
# A host mapping holds EvilKey("k"): item access, get and "in".
MAPPING_ITEM = "print(service.evil_map['k'])"
MAPPING_GET = "print(service.evil_map.get('k', 0))"
MAPPING_IN = "print('k' in service.evil_map)"


@pytest.mark.parametrize(
    "probe",
    [INSTANCE_DICT, CLASS_NAMESPACE, CLASS_NAMESPACE_OTHER, MAPPING_ITEM, MAPPING_GET, MAPPING_IN],
)
def test_lookups_never_call_a_host_key_eq(held, probe: str) -> None:
    """Lookups among hostile keys compare only keys of the probe key's exact builtin type:
    the host's key-comparison counter (in its digest) does not move."""
    held(probe, REFUSED | {"ok"}, expose=EXPOSE)


def test_plain_keys_beside_a_hostile_one_still_read(held) -> None:
    """The fallback lookup still finds exact str keys of a mapping with a hostile key."""
    record = held("print(service.evil_map['ok'])", frozenset({"ok"}), expose=EXPOSE)
    assert "2" in str(record["_report"])
