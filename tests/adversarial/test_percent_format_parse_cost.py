"""Technique: a %-format template of millions of fields. ``Sandbox.percent_format`` first
parses the whole template with ``_parse_percent``, a pure-Python loop with no ticks that
builds one ``_PercentField`` per field: ``('%%' * 8_000_000) % ()`` (a 16 MB template,
inside the string cap) runs ~15 s past a 2 s deadline and grows the host by ~570 MB
before the first piece is charged. ``str.format`` ticks per field; ``%`` does not.
Source: RestrictedPython CVE-2023-41039 (format strings as an escape and DoS vector);
simpleeval's MAX_STRING_LENGTH and its resource-limit issues."""

from pathlib import Path

import pytest

from tests.harness import base_policy

POLICY = base_policy(Path(), limits={"timeout": "200ms", "max_output": "64KiB"})

PROBES = [
    "s = '%%' * 8000000\nprint(len(s % ()))",
    "s = b'%%' * 8000000\nprint(len(s % ()))",
    "s = 'a%%' * 5000000\nprint(len(s % ()))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_percent_template_parse_stops_near_the_deadline(attack, probe: str) -> None:
    """Parsing a costly %-format template stops near the 200 ms timeout."""
    record = attack(probe, policy=POLICY)
    assert record["duration_ms"] < 1500, f"ran {record['duration_ms']} ms past a 200 ms timeout"
