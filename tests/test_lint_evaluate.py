"""lint_evaluate.py: evaluate entries checked against allow and against the target's class,
read from source (nothing imported or run), reported with the policy's file, line and rule."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from safeprobe.policy.loading import load_policy
from safeprobe.tools.lint_evaluate import check_evaluate
from tests.harness import run_cli

HOST = """\
import functools

RAN = []


class Stats:
    hits: int = 0

    @property
    def ratio(self):
        RAN.append("ratio")
        return 1.0


class Base:
    def size(self, extra=0, *, flag=False):
        RAN.append("size")
        return 1


class Ledger(Base):
    stats: Stats

    def __init__(self):
        self.entries = []
        self.stats = Stats()

    @property
    def label(self):
        return "x"

    @functools.cached_property
    def total(self):
        return 1

    def grow(self, n):
        return n

    @classmethod
    def build(cls):
        return cls()

    @staticmethod
    def helper():
        return 1

    def pages(self):
        yield 1

    async def fetch(self):
        return 1

    @some_decorator
    def wrapped(self):
        return 1


class Remote(Unknown):
    pass


ledger = Ledger()
remote = Remote()
# Importing this module leaves a mark: checking must not.
open(__file__ + ".imported", "w").close()
"""


def _write(tmp_path: Path, entries: list[str], target: str = "evalhost_mod:ledger") -> str:
    (tmp_path / "evalhost_mod.py").write_text(HOST, encoding="utf-8")
    listed = "\n".join(f"      - {e!r}" for e in entries)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        textwrap.dedent(
            f"""\
            version: 1
            probe:
              path: probe.py
            expose:
              ledger:
                target: "{target}"
                allow: ["**"]
                evaluate:
            """
        )
        + listed
        + "\n",
        encoding="utf-8",
    )
    return str(policy)


GOOD = ["label", "total", "size()", "stats.ratio", "wrapped()"]


def test_entries_that_resolve_have_no_findings(tmp_path: Path) -> None:
    """Properties, a cached_property, an inherited method with defaults, a nested path."""
    path = _write(tmp_path, GOOD)
    assert check_evaluate(load_policy(path), path) == []


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("label()", "is a property (Ledger.label): name it without '()'"),
        ("grow", "is a method (Ledger.grow): name it 'grow()'"),
        ("grow()", "needs arguments (Ledger.grow)"),
        ("build()", "is a classmethod or staticmethod (Ledger.build)"),
        ("helper()", "is a classmethod or staticmethod (Ledger.helper)"),
        ("pages()", "is a generator or coroutine function (Ledger.pages)"),
        ("fetch()", "is a generator or coroutine function (Ledger.fetch)"),
        ("entries", "is instance data of Ledger"),
        ("stats.misses", "names nothing that Stats"),
        ("nothing()", "names nothing that Ledger"),
    ],
)
def test_entries_that_cannot_be_what_they_say_are_found(
    tmp_path: Path, entry: str, problem: str
) -> None:
    """Each finding names the policy file, the entry's line and the rule."""
    others = [e for e in GOOD if e.removesuffix("()") != entry.removesuffix("()")]
    path = _write(tmp_path, [*others, entry])
    findings = check_evaluate(load_policy(path), path)
    assert [(f.path, f.line, f.rule) for f in findings] == [
        (path, 9 + len(others), "evaluate.target")
    ]
    assert problem in findings[0].message


def test_unsure_entries_are_left_alone(tmp_path: Path) -> None:
    """A base from another module may define anything: no finding is a guess."""
    path = _write(tmp_path, ["anything", "other()"], target="evalhost_mod:remote")
    assert check_evaluate(load_policy(path), path) == []


def test_entries_outside_allow_are_found(tmp_path: Path) -> None:
    """evaluate never widens allow: the host would refuse the read, so check says so."""
    path = _write(tmp_path, ["label"])
    text = Path(path).read_text(encoding="utf-8").replace('["**"]', '["entries"]')
    Path(path).write_text(text, encoding="utf-8")
    findings = check_evaluate(load_policy(path), path)
    assert [(f.line, f.rule) for f in findings] == [(9, "evaluate.allow")]


@pytest.mark.slow
def test_checking_runs_none_of_the_host(tmp_path: Path) -> None:
    """The module is read as text: importing it would have run its top level."""
    path = _write(tmp_path, [*GOOD, "grow"])
    result = run_cli("check", path, "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert '"rule": "evaluate.target"' in result.stdout
    assert not (tmp_path / "evalhost_mod.py.imported").exists()


@pytest.mark.slow
def test_check_names_main_targets_only_with_the_script(tmp_path: Path) -> None:
    """__main__ is the host's script, which only the operator can name (--main)."""
    path = _write(tmp_path, ["grow"], target="__main__:ledger")
    assert check_evaluate(load_policy(path), path) == []
    script = str(tmp_path / "evalhost_mod.py")
    [finding] = check_evaluate(load_policy(path), path, main=script)
    assert finding.rule == "evaluate.target"
    result = run_cli("check", path, "--main", script, cwd=tmp_path)
    assert result.returncode == 1
    assert f"{path}:9: expose.ledger.evaluate: 'grow' is a method" in result.stdout
    assert "(rule: evaluate.target)" in result.stdout


@pytest.mark.slow
def test_lint_reports_policy_findings_beside_the_probes(tmp_path: Path) -> None:
    """lint knows evaluate too: the policy's findings come with the probe's."""
    path = _write(tmp_path, ["grow"])
    probe = tmp_path / "probe.py"
    probe.write_text("print(ledger.label)\n", encoding="utf-8")
    probe.chmod(0o644)
    result = run_cli("lint", "--policy", path, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert f"{path}:9: expose.ledger.evaluate: 'grow' is a method" in result.stdout
