"""`safeprobe check` and `safeprobe schema` through a subprocess, as an operator calls them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from safeprobe.policy.loading import parse_policy
from tests.harness import REPO, run_cli
from tests.strategies import policy_dicts

SEED_POLICY = REPO / "examples" / "seed" / "policies" / "seed.yaml"


@pytest.mark.slow
def test_check_prints_the_effective_policy_as_yaml(tmp_path: Path) -> None:
    """Defaults filled in and marked, paths resolved; the text is the policy itself."""
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nprobe: {path: probe.py}\nlimits: {timeout: 2s}\n")
    result = run_cli("check", str(policy))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"# {policy}: ok; the effective policy, defaults marked\n")
    assert "  timeout: 2s\n" in result.stdout
    assert "  max_output: 64KiB" in result.stdout
    assert f"  path: {tmp_path / 'probe.py'}\n" in result.stdout
    reparsed = parse_policy(result.stdout, path=str(policy))
    assert reparsed == parse_policy(policy.read_text(), path=str(policy))


@pytest.mark.slow
def test_check_json_gives_seconds_and_bytes(tmp_path: Path) -> None:
    """--json: machines get plain numbers under the YAML key names."""
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nprobe: {path: probe.py}\n")
    result = run_cli("check", str(policy), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["path"] == str(policy)
    assert report["policy"]["limits"]["timeout"] == 0.5
    assert report["policy"]["limits"]["max_output"] == 65536
    assert report["policy"]["probe"]["path"] == str(tmp_path / "probe.py")


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (
            "limits:\n  timeot: 1s\n",
            4,
            "limits.timeot: unknown key (did you mean 'timeout'?); known keys: timeout,",
        ),
        (
            "isolation: forkk\n",
            3,
            "isolation: must be 'thread' or 'fork', got 'forkk'; did you mean 'fork'?",
        ),
        (
            "limits: {timeout: 500}\n",
            3,
            "limits.timeout: must be more than 0s and at most 60s; a bare number is seconds; "
            "write 500ms for milliseconds",
        ),
    ],
)
@pytest.mark.slow
def test_check_errors_name_file_line_field_and_hint(
    tmp_path: Path, text: str, line: int, expected: str
) -> None:
    """One stderr line, no traceback, exit 1; the hint says what to write."""
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nprobe: {path: probe.py}\n" + text)
    result = run_cli("check", str(policy))
    assert result.returncode == 1
    assert result.stderr.startswith(f"safeprobe: {policy}:{line}: {expected}")
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


@pytest.mark.slow
def test_check_json_error_is_a_document_too(tmp_path: Path) -> None:
    """--json on a bad policy: ok false, with the error's parts as fields."""
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nprobe: {path: probe.py}\nisolation: forkk\n")
    result = run_cli("check", str(policy), "--json")
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert (error["path"], error["line"], error["field"]) == (str(policy), 3, "isolation")
    assert "did you mean 'fork'?" in error["problem"]


@pytest.mark.slow
def test_check_of_a_missing_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """A wrong path is reported, not a traceback."""
    result = run_cli("check", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert (
        result.stderr == f"safeprobe: {tmp_path / 'nope.yaml'}: file: No such file or directory\n"
    )


@pytest.mark.slow
def test_schema_prints_a_json_schema_the_seed_policy_meets() -> None:
    """Editors validate and complete policies with it; typos fail it."""
    result = run_cli("schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.validate(yaml.safe_load(SEED_POLICY.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError, match="expsoe"):
        jsonschema.validate({"version": 1, "probe": {"path": "p.py"}, "expsoe": {}}, schema)


@pytest.mark.slow
@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(policy_dicts())
def test_every_valid_policy_meets_the_printed_schema(data: dict[str, object]) -> None:
    """The schema never rejects a policy safeprobe accepts, so editors raise no false alarms."""
    jsonschema.validate(data, _schema())


_SCHEMA: list[dict[str, object]] = []


def _schema() -> dict[str, object]:
    if not _SCHEMA:
        _SCHEMA.append(json.loads(run_cli("schema").stdout))
    return _SCHEMA[0]
