"""Built-in policy names (policy/builtins.py): how a name or a path becomes a policy file,
where a built-in's audit log goes, and that every built-in ships and loads."""

from __future__ import annotations

import hashlib
import stat
import tomllib
from pathlib import Path

import pytest

from safeprobe.errors import PolicyError
from safeprobe.host.source import read_probe
from safeprobe.policy.builtins import builtin_dir, builtin_policies, resolve_policy
from safeprobe.policy.loading import load_policy, parse_policy

REPO = Path(__file__).resolve().parent.parent
NAMES = ["asyncio", "gc", "process", "template", "threads"]


def test_the_builtins_are_the_policies_folder_of_the_checkout() -> None:
    """In a checkout, the installed safeprobe_policies is the top-level policies/ folder."""
    assert builtin_dir().resolve() == (REPO / "policies").resolve()
    assert list(builtin_policies()) == NAMES


def test_each_builtin_has_a_one_line_summary() -> None:
    """`safeprobe policies` shows a line each: the policy's first comment, non-empty."""
    for name, summary in builtin_policies().items():
        assert summary, name
        assert "\n" not in summary
        assert len(summary) <= 100, name


def test_a_name_resolves_to_the_builtin_with_data_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`threads` names the shipped file; its data directory is the cwd, made absolute."""
    monkeypatch.chdir(tmp_path)
    ref = resolve_policy("threads")
    assert ref.path == str(builtin_dir() / "threads.yaml")
    assert ref.data_dir == str(tmp_path)


def test_a_path_that_exists_wins_over_a_builtin_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of the operator's named like a built-in is never shadowed by it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "threads").write_text("version: 1\nprobe: {path: p.py}\n", encoding="utf-8")
    ref = resolve_policy("threads")
    assert ref.path == "threads"
    assert ref.data_dir is None
    assert load_policy("threads").probe.path == str(tmp_path / "p.py")


def test_an_unknown_word_is_one_policy_error_listing_the_builtins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word that is neither a file nor a name: one line, with every built-in name."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PolicyError) as caught:
        resolve_policy("thread")
    assert str(caught.value) == (
        "thread: file: no such file, and not a built-in policy name "
        "(asyncio, gc, process, template, threads)"
    )


@pytest.mark.parametrize("missing", ["policies/app.yaml", "app.yaml", "./threads"])
def test_a_missing_path_stays_a_path_and_the_loader_says_so(
    missing: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something that looks like a path (a / or a suffix) is never taken for a name."""
    monkeypatch.chdir(tmp_path)
    assert resolve_policy(missing).path == missing
    with pytest.raises(PolicyError, match="No such file"):
        load_policy(missing)


def test_data_dir_moves_the_data_paths_and_leaves_the_probe_beside_the_policy() -> None:
    """parse_policy(data_dir=...): audit log, HMAC key and results go there; probe does not."""
    text = (
        "version: 1\nprobe: {path: probes/p.py}\noutput_dir: out\n"
        "audit: {path: ./a.jsonl, hmac_key_file: k.key}\n"
    )
    policy = parse_policy(text, path="/site/pkg/p.yaml", data_dir="/srv/app")
    assert policy.probe.path == "/site/pkg/probes/p.py"
    assert policy.audit.path == "/srv/app/a.jsonl"
    assert policy.audit.hmac_key_file == "/srv/app/k.key"
    assert policy.output_dir == "/srv/app/out"
    plain = parse_policy(text, path="/site/pkg/p.yaml")
    assert plain.audit.path == "/site/pkg/a.jsonl"


@pytest.mark.parametrize("name", NAMES)
def test_every_builtin_loads_by_name_with_its_audit_log_in_the_working_directory(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each built-in is a valid policy whose probe ships beside it and whose audit log is
    ./safeprobe-audit.jsonl of the host, never in site-packages."""
    monkeypatch.chdir(tmp_path)
    policy = load_policy(name)
    assert policy.audit.path == str(tmp_path / "safeprobe-audit.jsonl")
    probe = Path(policy.probe.path)
    assert probe.parent == builtin_dir() / "probes"
    assert stat.S_ISREG(probe.stat().st_mode)
    assert policy.probe.owners == ("root", "current")


@pytest.mark.parametrize("name", [n for n in NAMES if n != "template"])
def test_every_runnable_builtin_pins_its_probe_and_reads_under_umask_002(
    name: str, tmp_path: Path
) -> None:
    """The pin is the shipped probe's digest (edit a probe: update its pin), and the probe
    reads even when pip installed it group-writable (umask 002): the checks an installed
    wheel meets, owned by root or by the user."""
    policy = load_policy(name)
    shipped = Path(policy.probe.path)
    assert policy.probe.sha256 == (hashlib.sha256(shipped.read_bytes()).hexdigest(),)
    installed = tmp_path / shipped.name
    installed.write_bytes(shipped.read_bytes())
    installed.chmod(0o664)
    source = read_probe(str(installed), owners=policy.probe.owners, sha256_pins=policy.probe.sha256)
    assert source.sha256 == policy.probe.sha256[0]


def test_the_wheel_ships_every_builtin_policy_and_probe() -> None:
    """pyproject maps policies/ to safeprobe_policies and its package data covers every
    YAML and probe file in it, so an installed safeprobe has them all."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    setup = config["tool"]["setuptools"]
    assert "safeprobe_policies" in setup["packages"]
    assert setup["package-dir"]["safeprobe_policies"] == "policies"
    globs = setup["package-data"]["safeprobe_policies"]
    folder = REPO / "policies"
    shipped = {p for pattern in globs for p in folder.glob(pattern)}
    wanted = {p for p in folder.rglob("*") if p.suffix in (".yaml", ".py") and p.stem != "__init__"}
    wanted = {p for p in wanted if "__pycache__" not in p.parts}
    assert wanted <= shipped
