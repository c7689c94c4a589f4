"""Technique: catastrophic regex backtracking in the sandbox's own message scrubber. Every
exception a probe prints, formats or lets escape is shown through ``to_text``, which runs
``_plain_message``; when the text contains "View", "Sandbox" or "<locals>" it applies
``_INTERNAL_NAMES``, whose last pattern ``[\\w.]*<locals>\\.`` is quadratic on a long run of
word characters: at every start position ``[\\w.]*`` takes the rest of the run, then backs
off one character at a time looking for ``<locals>``. A 60,000-character message (well
under every size cap) is one ``re.sub`` C call of ~6.5 s holding the GIL; 200,000
characters take over a minute (``str``, f-strings, ``%s`` and the runner's own report of an
uncaught exception all go through it). The deadline is only checked at ticks, so nothing stops it.
Source: OWASP "Regular expression Denial of Service - ReDoS"; Davis et al., "The impact of
regular expression denial of service (ReDoS) in practice" (ESEC/FSE 2018)."""

from pathlib import Path

import pytest

from tests.harness import base_policy

POLICY = base_policy(Path(), limits={"timeout": "200ms", "max_output": "64KiB"})
REFUSED_OR_OK = frozenset({"ok", "denied", "error", "limit", "timeout"})
RUN = "'a' * 60000"

PROBES = [
    f"raise ValueError('View' + {RUN})",
    f"try:\n    raise ValueError('Sandbox' + {RUN})\nexcept ValueError as e:\n    print(len(str(e)))",
    f"try:\n    raise RuntimeError('<locals>' + {RUN})\nexcept RuntimeError as e:\n    print(len(f'{{e}}'))",
    f"print(len('%s' % (ValueError('View' + {RUN}),)))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_message_scrubbing_stops_near_the_deadline(attack, probe: str) -> None:
    """Scrubbing a hostile exception message stops near the 200 ms timeout."""
    record = attack(probe, REFUSED_OR_OK, policy=POLICY)
    assert record["duration_ms"] < 1500, f"ran {record['duration_ms']} ms past a 200 ms timeout"
