"""Technique: time-of-check to time-of-use on a memoised safety check (CWE-367). A read
plan (issue 16, views.planned_getattr) looks an attribute up in an instance dict with
``dict.get`` once ``KeyMemo.names_plain`` found every key an exact str, and remembered the
last dict found plain by identity and size. Under thread isolation a host thread runs
between the probe's reads: it swaps the key ``other`` for a str subclass of the same text
(same size, same dict), and the remembered verdict lets ``dict.get`` compare the name with
it, running its ``__eq__``. Source: CWE-367; the same shape as CPython's own dict-mutation
during lookup bugs (bpo-14205, "dict lookup can call user __eq__ that mutates the dict").
"""

from tests.adversarial.conftest import REFUSED

SWAPPED = {"swapped": {"target": "__main__:swapped", "allow": ["value", "other"]}}


def test_a_key_swapped_by_a_host_thread_is_never_compared(held) -> None:
    """Thousands of reads of ``swapped.other`` while a host thread swaps the key for a
    hostile one at the same dict size: no host ``__eq__`` runs (held's digest counts them)."""
    probe = (
        "found = missing = 0\n"
        "for i in range(300000):\n"
        "    try:\n"
        "        x = swapped.other\n"
        "        found += 1\n"
        "    except AttributeError:\n"
        "        missing += 1\n"
        "print(found > 0)\n"
    )
    held(probe, REFUSED | {"ok"}, expose=SWAPPED, script="swapping_host.py")
