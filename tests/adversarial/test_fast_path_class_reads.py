"""Technique: make the per-attempt cache of class-side attribute reads
(static_reads.read_attribute, ``_ClassRead``) answer for the wrong class: classes that
share a name, a subclass that turns a base's plain attribute into a property, and an
instance attribute a host thread changes between two reads. A cache keyed on something
weaker than the exact type (its name, an isinstance test, a base found along the MRO)
answers a property with the instance dict's shadowed value, and a cache of the value
itself serves a stale one. Source: the type attribute cache of CPython
(Objects/typeobject.c, keyed by type version tag and name, invalidated on any change),
and cache-confusion bugs of that shape (gh-91603, a stale type cache entry).
"""

TWINS = {"twins": {"target": "__main__:twins", "allow": ["value"]}}

# The first read fills the cache for the plain class; the second and third are objects
# of other classes of the same name, whose ``value`` is a property: each must be refused
# (host code), not read from the instance dict as the first class's answer would have it.
TWIN_PROBES = [
    "print(twins[0].value)\nprint(twins[1].value)\n",
    "print(twins[0].value)\nprint(twins[2].value)\n",
    "for i in range(3):\n    print(twins[0].value)\nprint(twins[2].value)\n",
]

# The instance side is read live: a host thread counts ``beat.n`` up every 5 ms, and the
# probe reads it until it changes (in a forked child nothing changes it: the loop runs
# to its end or the deadline).
BEAT_PROBE = """\
first = beat.n
seen = first
for i in range(300000):
    seen = beat.n
    if seen != first:
        print("changed")
        break
"""


def test_cached_class_read_is_not_reused_for_a_same_named_class(held) -> None:
    """A property of another class called like a cached one is refused, not read."""
    for probe in TWIN_PROBES:
        record = held(probe, frozenset({"denied"}), expose=TWINS)
        assert "host-code" in str(record["reason"]), record["reason"]
        assert "shadowed" in str(record["_report"])  # the first class's read did happen


def test_instance_attribute_changed_by_a_host_thread_is_read_live(held) -> None:
    """Only the class side is cached: a value a host thread changes is read anew."""
    record = held(
        BEAT_PROBE,
        frozenset({"ok", "timeout"}),
        expose={"beat": {"target": "__main__:beat", "allow": ["n"]}},
    )
    if record["_mode"] == "thread":
        assert "changed" in str(record["_report"]), record["_report"]
