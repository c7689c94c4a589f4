"""Technique: make the attempt's audit record too large to write. With
``audit.include_output: true`` the output is stored in the record as JSON text, where each
control byte becomes a 6-byte escape ("\\u0001"); a 16 MiB ``max_output`` of them made a
96 MiB record that the sink's 16 MiB line cap refused, so the probe ran and no record was
written. Now such a policy is refused when loaded, and the largest output a valid policy
can include fits one record.
Source: RFC 8259, section 7 (control characters must be escaped in JSON strings); issue 11
of this project."""

from __future__ import annotations

import json
from pathlib import Path

from safeprobe.audit.chain import MAX_RECORD_BYTES
from safeprobe.policy.defaults import MAX_INCLUDED_OUTPUT_BYTES
from tests.harness import run_cli

# As many control bytes as the largest output a policy may include, and more.
CONTROL_FLOOD = "s = chr(1) * 1000000\nfor i in range(4):\n    print(s)\n"


def test_included_output_of_control_bytes_leaves_one_record_under_the_cap(held) -> None:
    """At the largest max_output include_output allows, control bytes still make one record
    under the cap, with the output in it."""
    record = held(
        CONTROL_FLOOD,
        frozenset({"limit"}),  # the output cap stops it: "limits.max_output"
        expose={},
        limits={"max_output": MAX_INCLUDED_OUTPUT_BYTES},
        audit={"include_output": True},
    )
    output = record["output"]
    assert isinstance(output, dict)
    assert output["truncated"] is True
    assert len(json.dumps(output["text"], ensure_ascii=False)) > 5 * MAX_INCLUDED_OUTPUT_BYTES
    assert len(json.dumps({k: v for k, v in record.items() if k[0] != "_"})) <= MAX_RECORD_BYTES


def test_a_policy_whose_included_output_could_pass_the_cap_is_refused(tmp_path: Path) -> None:
    """`safeprobe check` (and install) refuses include_output with a 16 MiB max_output,
    naming both fields, instead of a host that runs probes it cannot record."""
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "version: 1\nprobe: {path: probe.py}\nlimits: {max_output: 16MiB}\n"
        "audit: {include_output: true}\n"
    )
    result = run_cli("check", str(policy))
    assert result.returncode == 1, result.stdout
    assert "audit.include_output" in result.stderr
    assert "limits.max_output" in result.stderr
