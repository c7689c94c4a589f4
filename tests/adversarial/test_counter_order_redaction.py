"""Technique: read a secret count from where a Counter prints it. Counter's repr lists its
pairs by count, largest first (most_common), and the view printed them so with the
secret's count as the sort key: the value was the marker, but its rank among the known
counts was shown, so ``Counter({'api_token': <redacted>, 'b': 1000, ...})`` said the
token's count is over 1,000 (a bisection over a host's counters narrows it further).
Source: CPython Lib/collections/__init__.py (Counter.__repr__ uses most_common()); the
redaction promise of this project (SECURITY.md, "Secrets")."""

import pytest

STDVALS = {"stdvals": {"target": "__main__:stdvals", "allow": ["**"]}}

PROBES = [
    "print(stdvals.counts_low)\nprint(stdvals.counts_high)",
    "print([stdvals.counts_low])\nprint([stdvals.counts_high])",
    "print(f'{stdvals.counts_low}')\nprint(f'{stdvals.counts_high}')",
]


@pytest.mark.parametrize("probe", PROBES)
def test_counter_order_does_not_depend_on_a_secret_count(held, probe: str) -> None:
    """Two counters differing only in a secret key's count print the same."""
    record = held(probe, frozenset({"ok"}), expose=STDVALS)
    lines = [line for line in record["_report"].splitlines() if "Counter(" in line]
    assert len(lines) == 2, record["_report"]
    assert lines[0] == lines[1], record["_report"]
    assert "'b': 1000, 'a': 10, 'api_token': <redacted>" in lines[0], lines[0]
