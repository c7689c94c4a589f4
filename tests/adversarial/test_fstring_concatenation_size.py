"""Technique: concatenate many large fields in one f-string. Each field goes through the
sandbox's renderer, but joining them is one C operation (BUILD_STRING) whose total size is
never checked: twenty 4 MB fields are 80 MB, a thousand 16 MB fields are 16 GB.
Source: RestrictedPython CVE-2023-41039 (formatting as a resource vector); simpleeval's
documented protection against string multiplication and its f-string follow-ups
(simpleeval issues on MAX_STRING_LENGTH)."""

import pytest

FIELDS = "{s}" * 20

PROBES = [
    "s = 'x' * 4000000\nt = f'" + FIELDS + "'\nprint(len(t))",
    "s = 'x' * 4000000\nt = f'{s!s}{s!s}{s!s}{s!s}{s!s}{s!s}{s!s}{s!s}{s!s}{s!s}{s!s}{s!s}{s!s}{s!s}{s!s}{s!s}{s!s}{s!s}{s!s}{s!s}'\nprint(len(t))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_fstring_total_size_is_bounded(attack, probe: str) -> None:
    """An f-string whose joined fields pass the size limit is stopped as a limit."""
    record = attack(probe)
    assert record["outcome"] == "limit", record["reason"]
