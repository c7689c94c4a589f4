"""The command's rough edges, in process: usage errors are one line and exit 2, a file that
is not an audit log is refused, every positional argument says what it is, --version."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

import safeprobe
from safeprobe.host.registry import Announcement
from safeprobe.tools import cli, sender
from tests.harness import REPO

SEED_POLICY = REPO / "examples" / "seed" / "policies" / "seed.yaml"


def _positionals(parser: argparse.ArgumentParser, prefix: str) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _positionals(child, f"{prefix} {name}")
        elif not action.option_strings:
            found.append((f"{prefix} {action.dest}", action.help))
    return found


def test_every_positional_argument_has_help() -> None:
    """`safeprobe CMD -h` says what each positional argument is, for every command."""
    positionals = _positionals(cli.build_parser(), "safeprobe")
    assert positionals, "the walk found no positional arguments"
    assert [name for name, text in positionals if not text] == []


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`safeprobe --version` names the installed version and exits 0."""
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"safeprobe {safeprobe.__version__}"


@pytest.mark.parametrize("content", ["version: 1\nname: x\n", "import os\nprint(os.getpid())\n"])
def test_audit_verify_refuses_a_file_that_is_not_an_audit_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    """A YAML or Python file is not "ok: 0 records": one line says it is not a log, exit 1."""
    path = tmp_path / "policy.yaml"
    path.write_text(content)
    assert cli.main(["audit", "verify", str(path)]) == cli.EXIT_BAD
    out, err = capsys.readouterr()
    assert "ok" not in out
    assert err.count("\n") == 1
    assert "not an audit log" in err
    assert str(path) in err


def test_audit_verify_says_an_empty_file_is_a_fresh_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty file is a log nothing was written to yet, and the report says so plainly."""
    path = tmp_path / "audit.jsonl"
    path.write_text("")
    assert cli.main(["audit", "verify", str(path)]) == cli.EXIT_OK
    assert "0 records (an empty log: nothing recorded yet)" in capsys.readouterr().out


@pytest.mark.parametrize("head", ["xyz", "ab" * 31, "AB" * 32, "ab" * 33])
def test_a_malformed_expect_head_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], head: str
) -> None:
    """--expect-head that cannot be a head is the operator's typo, not tampering: exit 2."""
    path = tmp_path / "audit.jsonl"
    path.write_text("")
    assert cli.main(["audit", "verify", str(path), "--expect-head", head]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "64 lowercase hex digits" in err
    assert "truncated" not in err


@pytest.mark.parametrize("option", ["--since", "--until"])
@pytest.mark.parametrize("value", ["yesterday", "1w", "2026-13-45T10:00", "=-1h", ""])
def test_a_bad_time_is_a_one_line_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    """`audit show --since yesterday` says what it takes, in one line, exit 2: no traceback."""
    path = tmp_path / "audit.jsonl"
    path.write_text("")
    given = [f"{option}{value}"] if value.startswith("=") else [option, value]
    assert cli.main(["audit", "show", str(path), *given]) == cli.EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"safeprobe: {option}: ")
    assert "1h" in err
    assert "2026-12-03T10:00" in err


@pytest.mark.parametrize(
    ("args", "named"),
    [(["--", "missing.py"], "missing.py"), (["-m", "no_such_module_here"], "no_such_module_here")],
)
def test_run_of_a_missing_program_is_a_one_line_usage_error(
    capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    """`safeprobe run -- missing.py` names the file, exit 2, before anything is installed."""
    assert cli.main(["run", "--policy", str(SEED_POLICY), *args]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert named in err


def test_trigger_with_another_policy_than_the_host_announced_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--policy OTHER.yaml for a host that announced another policy is refused before sending."""
    announced = Announcement(4242, 1, str(tmp_path / "host.yaml"), "SIGQUIT", None)
    monkeypatch.setattr(sender, "lookup", lambda pid: announced)
    sent: list[int] = []
    monkeypatch.setattr(sender, "send", lambda *args, **kwargs: sent.append(1))
    code = cli.main(["trigger", "4242", "--policy", str(SEED_POLICY), "--wait", "0"])
    assert code == cli.EXIT_USAGE
    assert sent == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "host.yaml" in err
    assert "seed.yaml" in err


def _policy_with_targets(tmp_path: Path) -> Path:
    (tmp_path / "probe.py").write_text("print(1)\n")
    (tmp_path / "app.py").write_text("import os\nservice = object()\n")
    path = tmp_path / "policy.yaml"
    path.write_text(
        "version: 1\n"
        "probe: {path: probe.py}\n"
        "audit: {path: audit.jsonl}\n"
        "expose:\n"
        "  gone:\n"
        "    target: safeprobe_no_such_module:thing\n"
        "  fine:\n"
        "    target: json:dumps\n"
        "  main_typo:\n"
        "    target: __main__:servce\n"
        "  main_ok:\n"
        "    target: __main__:service\n"
    )
    return path


def test_check_warns_about_targets_it_can_tell_do_not_resolve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """check names each target it cannot find (without importing), as a warning: exit 0."""
    policy = _policy_with_targets(tmp_path)
    assert cli.main(["check", str(policy), "--main", str(tmp_path / "app.py")]) == cli.EXIT_OK
    warnings = [w for w in capsys.readouterr().err.splitlines() if "warning" in w]
    assert len(warnings) == 2
    assert any(f"{policy}:6: expose.gone.target" in w for w in warnings)
    assert any(f"{policy}:10: expose.main_typo.target" in w and "servce" in w for w in warnings)


def test_lint_warns_about_a_module_target_it_cannot_find(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """lint, which knows no script, warns about module targets only, and still passes."""
    policy = _policy_with_targets(tmp_path)
    assert cli.main(["lint", "--policy", str(policy), "--json"]) == cli.EXIT_OK
    out, err = capsys.readouterr()
    assert [w for w in err.splitlines() if "warning" in w] != []
    report = json.loads(out)
    assert len(report["warnings"]) == 1
    assert "expose.gone.target" in report["warnings"][0]
