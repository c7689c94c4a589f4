"""`safeprobe lint` through a subprocess, as an operator calls it before deploying a probe."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.harness import REPO, run_cli

SEED = REPO / "examples" / "seed"


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    """A copy of the seed example: policies/seed.yaml and probes/bar.py."""
    shutil.copytree(SEED / "policies", tmp_path / "policies")
    shutil.copytree(SEED / "probes", tmp_path / "probes")
    (tmp_path / "probes" / "bar.py").chmod(0o644)
    return tmp_path


def _probe(seed: Path, text: str, name: str = "draft.py") -> Path:
    path = seed / "probes" / name
    path.write_text(text)
    path.chmod(0o644)
    return path


@pytest.mark.slow
def test_a_clean_probe_passes_with_exit_0(seed: Path) -> None:
    """The seed probe is what the seed policy allows."""
    result = run_cli("lint", "probes/bar.py", "--policy", "policies/seed.yaml", cwd=seed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "probes/bar.py: ok against seed.yaml\n"
    assert result.stderr == ""


@pytest.mark.slow
def test_without_a_probe_argument_the_policys_probe_is_linted(seed: Path) -> None:
    """`lint --policy P` checks the file the host would run."""
    result = run_cli("lint", "--policy", "policies/seed.yaml", cwd=seed)
    assert result.returncode == 0, result.stdout
    assert result.stdout == f"{seed / 'probes' / 'bar.py'}: ok against seed.yaml\n"


DIRTY = """\
def execute():
    print(os.getcwd())
    print(my_object.secret)
    with open("/etc/passwd") as f:
        print(f)
    my_object.data["a"] = "x"
"""


@pytest.mark.slow
def test_a_dirty_probe_lists_every_refusal_with_line_column_and_rule(seed: Path) -> None:
    """Each line reads file:line:col: problem (rule: name), with a hint below it."""
    probe = _probe(seed, DIRTY)
    result = run_cli("lint", str(probe), "--policy", "policies/seed.yaml", cwd=seed)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines == [
        f"{probe}:2:11: name 'os' is not exposed by policy seed.yaml (rule: expose)",
        "  hint: the policy exposes my_object",
        f"{probe}:3:21: my_object.secret is not in the allowlist of expose.my_object "
        "(rule: allowlist)",
        "  hint: expose.my_object.allow is [data]",
        f"{probe}:4:10: builtin 'open' is not available in the sandbox (rule: builtins)",
        "  hint: probes do no I/O; expose the data through the policy instead",
        f"{probe}:6:5: my_object.data is a read-only view of the host (rule: read-only)",
        "  hint: copy it into a value of the probe's own first, e.g. d = dict(...)",
        f"{probe}: 4 problems against seed.yaml",
    ]


@pytest.mark.slow
def test_compile_errors_are_reported_as_the_host_would(seed: Path) -> None:
    """Imports and syntax errors come from the host's own compiler, with their lines."""
    probe = _probe(seed, "import os\nprint(1)\nclass A:\n    pass\n")
    result = run_cli("lint", str(probe), "--policy", "policies/seed.yaml", cwd=seed)
    assert result.returncode == 1
    assert f"{probe}:1: imports are not allowed in probes (rule: compile)" in result.stdout
    assert f"{probe}:3: class definitions are not allowed in probes (rule: compile)" in (
        result.stdout
    )
    broken = _probe(seed, "print(\n", name="broken.py")
    result = run_cli("lint", str(broken), "--policy", "policies/seed.yaml", cwd=seed)
    assert result.returncode == 1
    assert f"{broken}:1: SyntaxError: '(' was never closed" in result.stdout


@pytest.mark.slow
def test_json_output_is_one_document_a_script_can_read(seed: Path) -> None:
    """--json: ok, probe, policy and findings with path, line, column, rule, message, hint."""
    probe = _probe(seed, DIRTY)
    result = run_cli("lint", str(probe), "--policy", "policies/seed.yaml", "--json", cwd=seed)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["probe"] == str(probe)
    assert report["policy"] == "policies/seed.yaml"
    assert [f["rule"] for f in report["findings"]] == [
        "expose",
        "allowlist",
        "builtins",
        "read-only",
    ]
    assert report["findings"][0] == {
        "path": str(probe),
        "line": 2,
        "column": 11,
        "rule": "expose",
        "message": "name 'os' is not exposed by policy seed.yaml",
        "hint": "the policy exposes my_object",
    }
    clean = run_cli("lint", "--policy", "policies/seed.yaml", "--json", cwd=seed)
    assert clean.returncode == 0
    assert json.loads(clean.stdout)["findings"] == []


@pytest.mark.slow
def test_a_missing_probe_is_a_finding_not_a_crash(seed: Path) -> None:
    """The host would refuse a missing file; lint says so with exit 1."""
    result = run_cli("lint", "probes/nope.py", "--policy", "policies/seed.yaml", cwd=seed)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "probes/nope.py: no such file (rule: missing)"
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_missing_or_bad_policy_is_one_error_line(seed: Path) -> None:
    """The policy is lint's input: its errors name file, line and field, exit 1."""
    missing = run_cli("lint", "probes/bar.py", "--policy", "nope.yaml", cwd=seed)
    assert missing.returncode == 1
    assert missing.stderr == "safeprobe: nope.yaml: file: No such file or directory\n"
    bad = seed / "policies" / "bad.yaml"
    bad.write_text("version: 1\nprobe: {path: ../probes/bar.py}\nisolation: forkk\n")
    result = run_cli("lint", "--policy", str(bad), "--json", cwd=seed)
    assert result.returncode == 1
    assert result.stderr.startswith(f"safeprobe: {bad}:3: isolation: must be")
    assert json.loads(result.stdout)["error"]["line"] == 3


@pytest.mark.slow
def test_a_probe_the_host_would_refuse_to_open_is_reported_and_still_checked(
    seed: Path,
) -> None:
    """Group-writable: the host refuses it; the code is checked all the same."""
    probe = _probe(seed, "print(nope)\n")
    probe.chmod(0o666)
    result = run_cli("lint", str(probe), "--policy", "policies/seed.yaml", cwd=seed)
    assert result.returncode == 1
    assert result.stdout.splitlines()[:3] == [
        f"{probe}: mode 0666 is writable by group or others (rule: mode)",
        f"  hint: chmod go-w {probe}",
        f"{probe}:1:7: name 'nope' is not exposed by policy seed.yaml (rule: expose)",
    ]


@pytest.mark.slow
def test_usage_errors_exit_2(seed: Path) -> None:
    """No --policy, or an unknown option: usage, exit 2."""
    assert run_cli("lint", "probes/bar.py", cwd=seed).returncode == 2
    result = run_cli("lint", "--policy", "policies/seed.yaml", "--nope", cwd=seed)
    assert result.returncode == 2
    assert "usage:" in result.stderr


@pytest.mark.slow
def test_named_probes_are_linted_under_their_own_file_rules(seed: Path) -> None:
    """--named NAME lints the file a policy's named probe points at, under its pins."""
    _probe(seed, "print(sorted(my_object.data))\n", "keys.py")
    policy = seed / "policies" / "seed.yaml"
    policy.write_text(
        policy.read_text()
        + "probes:\n  keys: {path: ../probes/keys.py, sha256: ['"
        + "0" * 64
        + "']}\n"
    )
    result = run_cli("lint", "--policy", "policies/seed.yaml", "--named", "keys", cwd=seed)
    assert result.returncode == 1
    assert "keys.py" in result.stdout
    assert "(rule: sha256)" in result.stdout
    unknown = run_cli("lint", "--policy", "policies/seed.yaml", "--named", "nope", cwd=seed)
    assert unknown.returncode == 2
    assert "no probe named 'nope' (known: default, keys)" in unknown.stderr
