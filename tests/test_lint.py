"""Static checks of a probe against a policy: what they find, where, and that the host agrees."""

from __future__ import annotations

import contextlib
import hashlib
import sys
import tempfile
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeprobe import Outcome, run_probe
from safeprobe.policy.loading import parse_policy
from safeprobe.policy.models import Policy
from safeprobe.tools.lint import Finding, lint_probe, lint_source, sandbox_names

POLICY = parse_policy(
    "version: 1\nprobe: {path: bar.py}\nexpose:\n"
    "  my_object: {target: '__main__:my_object', allow: [data, 'jobs.*.state', 'rows']}\n"
    "  config: {target: 'app:config'}\n",
    path="/srv/seed.yaml",
)


def lint(source: str, policy: Policy = POLICY) -> list[Finding]:
    return lint_source(source, path="bar.py", policy=policy, policy_name="seed.yaml")


def where(findings: list[Finding]) -> list[tuple[int | None, int | None, str]]:
    return [(f.line, f.column, f.rule) for f in findings]


def test_the_seed_probe_is_clean() -> None:
    """The example every reader starts from passes."""
    assert lint("def execute():\n    print(my_object.data)\n") == []


def test_an_unexposed_name_is_reported_at_its_line_and_column() -> None:
    """Column is 1-based, in characters, like a compiler's."""
    (finding,) = lint("x = 1\nprint(os.getcwd())\n")
    assert finding.location == "bar.py:2:7"
    assert finding.rule == "expose"
    assert finding.message == "name 'os' is not exposed by policy seed.yaml"
    assert finding.hint == "the policy exposes config, my_object"


def test_a_near_miss_name_suggests_the_exposure() -> None:
    """A typo of an exposed name says which one was meant."""
    (finding,) = lint("print(my_obect.data)\n")
    assert finding.hint == "did you mean 'my_object'?"


def test_columns_count_characters_not_bytes() -> None:
    """ast gives byte offsets; a non-ASCII string before the name must not shift it."""
    (finding,) = lint("print('é€', zz)\n")
    assert finding.column == 13


@pytest.mark.parametrize(
    ("name", "hint"),
    [("open", "no I/O"), ("getattr", "with a dot"), ("type", "isinstance"), ("hash", "README")],
)
def test_a_python_builtin_missing_from_the_sandbox_is_named_as_such(name: str, hint: str) -> None:
    """open, getattr, type …: the host would raise NameError; lint says why."""
    (finding,) = lint(f"print({name}(1))\n")
    assert (finding.rule, finding.message) == (
        "builtins",
        f"builtin {name!r} is not available in the sandbox",
    )
    assert finding.hint is not None
    assert hint in finding.hint


def test_sandbox_names_come_from_the_real_namespace() -> None:
    """Safe builtins and exception classes are there; the refused ones are not."""
    names = sandbox_names()
    assert {"len", "print", "sorted", "isinstance", "ValueError", "True"} <= names
    assert not {"open", "getattr", "type", "vars", "eval", "__import__"} & names


@pytest.mark.parametrize(
    "source",
    [
        "def f(a, /, b, *c, d=1, **e):\n    return a, b, c, d, e\n",
        "for i in range(3):\n    print(i)\n",
        "print([x for x in range(3) if x])\nprint({k: v for k, v in {}.items()})\n",
        "y = [(z := i) for i in range(3)]\nprint(z)\n",
        "try:\n    pass\nexcept ValueError as err:\n    print(err)\n",
        "f = lambda q: q + 1\n",
        "def f():\n    global late\n    late = 1\nprint(late)\n",
        "def outer():\n    v = 1\n    def inner():\n        return v\n    return inner\n",
        "def execute():\n    print(helper())\ndef helper():\n    return 1\n",
        "if False:\n    maybe = 1\nprint(maybe)\n",
        "a, (b, *c) = 1, (2, 3)\nprint(a, b, c)\n",
    ],
)
def test_names_the_probe_binds_are_not_reported(source: str) -> None:
    """A name bound anywhere a lookup could reach is the probe's own: no false alarm."""
    assert lint(source) == []


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("def f():\n    local = 1\nprint(local)\n", 3),
        ("print([i for i in range(3)])\nprint(i)\n", 2),
        ("def f(arg):\n    return arg\nprint(arg)\n", 3),
    ],
)
def test_names_bound_only_in_another_scope_are_reported(source: str, line: int) -> None:
    """A function's locals and a comprehension's variable are not module names."""
    assert where(lint(source)) == [(line, 7, "expose")]


def test_an_attribute_outside_the_allowlist_is_reported_at_the_attribute() -> None:
    """The column points at the refused name, not at the start of the chain."""
    (finding,) = lint("print(my_object.secret)\n")
    assert where([finding]) == [(1, 17, "allowlist")]
    assert finding.message == "my_object.secret is not in the allowlist of expose.my_object"
    assert finding.hint == "expose.my_object.allow is [data, jobs.*.state, rows]"


def test_one_refused_step_is_reported_once_not_for_every_longer_path() -> None:
    """my_object.secret.x.y is one mistake."""
    assert where(lint("print(my_object.secret.x.y)\n")) == [(1, 17, "allowlist")]


@pytest.mark.parametrize(
    "expression",
    [
        "my_object.data",
        "my_object.data['k']",
        "my_object.jobs.j1.state",
        "my_object.jobs",  # a prefix of an allowed path can be walked through
        "my_object.data.keys()",
        "my_object.data.values()[0]",
        "my_object.rows[0]",
        "config",
        "config['key']",
    ],
)
def test_allowed_paths_are_clean(expression: str) -> None:
    """What the allowlist matches (the proxy's own matcher) passes."""
    assert lint(f"print({expression})\n") == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("print(my_object.jobs.j1.other)\n", "my_object.jobs.j1.other is not in the allowlist"),
        ("print(my_object.jobs['j1'])\n", "item access of my_object.jobs is not allowed"),
        ("for job in my_object.jobs:\n    pass\n", "iteration of my_object.jobs is not allowed"),
        ("print([j for j in my_object.jobs])\n", "iteration of my_object.jobs is not allowed"),
        ("print(my_object.rows.keys()[0].x)\n", "my_object.rows.x is not in the allowlist"),
        ("print(config.attribute)\n", "config.attribute is not in the allowlist"),
    ],
)
def test_paths_the_proxy_would_refuse_are_reported(source: str, message: str) -> None:
    """Traverse-only paths allow no items or iteration; methods keep the view's path."""
    (finding,) = lint(source)
    assert finding.rule == "allowlist"
    assert finding.message.startswith(message)


@pytest.mark.parametrize(
    "source",
    [
        "my_object.data['a'] = 'x'\n",
        "my_object.data = 1\n",
        "del my_object.data['a']\n",
        "config['k'] = 1\n",
    ],
)
def test_writes_to_an_exposure_are_reported(source: str) -> None:
    """Views are read-only; lint says so before the host refuses it."""
    (finding,) = lint(source)
    assert finding.rule == "read-only"
    assert finding.message.endswith("is a read-only view of the host")


def test_an_exposure_the_probe_rebinds_is_its_own_value() -> None:
    """After `my_object = {}` the name is no longer the view: nothing to check."""
    assert lint("my_object = {'x': 1}\nmy_object['secret'] = 2\nprint(my_object.get)\n") == []


@pytest.mark.parametrize(
    ("source", "clean"),
    [
        ("print('a'.upper())\n", True),
        ("print([].append)\n", True),
        ("print((1).bit_length())\n", True),
        ("print(f'{1}'.strip())\n", True),
        ("print('{x}'.format_map({}))\n", False),
        ("print({}.fromkeys([1]))\n", False),
        ("print(b''.fromhex('00'))\n", False),
        ("print(len.x)\n", False),
        ("print(ValueError.args)\n", False),
        ("print(str.join(',', []))\n", False),
        ("len = [1]\nprint(len.append)\n", True),
    ],
)
def test_methods_of_literals_and_builtins_follow_the_sandboxs_table(
    source: str, clean: bool
) -> None:
    """The same SAFE_METHODS table the sandbox's attribute guard reads; the probe's
    builtins are functions and classes, which offer no attributes at all."""
    rules = [f.rule for f in lint(source)]
    assert rules == ([] if clean else ["attribute"])


def test_compile_errors_are_all_listed_with_their_lines() -> None:
    """The host's compiler decides; an import's name is not reported a second time."""
    findings = lint("import os\nprint(os.getcwd())\nclass A:\n    pass\nx = __import__('os')\n")
    assert where(findings) == [(1, None, "compile"), (3, None, "compile"), (5, None, "compile")]
    assert findings[0].location == "bar.py:1"


def test_a_syntax_error_is_the_only_finding() -> None:
    """Nothing else can be said about text that does not parse."""
    (finding,) = lint("print(os\n")
    assert finding.rule == "compile"
    assert finding.message.startswith("SyntaxError")


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_any_text_gives_findings_and_never_raises(text: str) -> None:
    """Lint reads whatever an operator wrote, including garbage."""
    assert all(isinstance(f, Finding) for f in lint(text))


_ATOMS = st.sampled_from(["x", "my_object", "config", "len", "print", "open", "(1)", "'s'"])
_TRAILERS = st.sampled_from([".data", ".secret", ".keys", "[0]", "()", ".jobs", ".upper"])
_EXPRESSIONS = st.builds(lambda a, t: a + "".join(t), _ATOMS, st.lists(_TRAILERS, max_size=4))
_STATEMENTS = st.one_of(
    _EXPRESSIONS.map(lambda e: f"print({e})"),
    st.tuples(_EXPRESSIONS, _EXPRESSIONS).map(lambda p: f"{p[0]} = {p[1]}"),
    _EXPRESSIONS.map(lambda e: f"for x in {e}:\n    print(x)"),
    _EXPRESSIONS.map(lambda e: f"def execute():\n    return {e}"),
)


@settings(max_examples=300)
@given(st.lists(_STATEMENTS, max_size=6).map("\n".join))
def test_structured_probes_give_findings_in_line_order(source: str) -> None:
    """Findings of probe-shaped text come sorted, each inside the text."""
    findings = lint(source + "\n")
    lines = source.count("\n") + 2
    assert [(f.line or 0, f.column or 0) for f in findings] == sorted(
        (f.line or 0, f.column or 0) for f in findings
    )
    assert all(f.line is None or 1 <= f.line <= lines for f in findings)


# -- lint agrees with the host ---------------------------------------------------------------

HOST_MODULE = "safeprobe_lint_host"
STEPS = [".a", ".b", ".l", "[0]"]
PATTERN_PARTS = ["a", "b", "l", "*", "**"]


class Node:
    """A host object with attributes a and b (Nodes) and l (a list of one Node)."""

    def __init__(self, depth: int) -> None:
        if depth:
            self.a = Node(depth - 1)
            self.b = Node(depth - 1)
            self.l = [Node(depth - 1)]


@pytest.fixture(scope="module")
def host_module() -> Iterator[None]:
    module = types.ModuleType(HOST_MODULE)
    module.tree = Node(5)  # type: ignore[attr-defined]
    sys.modules[HOST_MODULE] = module
    yield
    del sys.modules[HOST_MODULE]


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    root=st.sampled_from(["obj", "nope", "len"]),
    steps=st.lists(st.sampled_from(STEPS), max_size=4),
    allow=st.lists(
        st.lists(st.sampled_from(PATTERN_PARTS), min_size=1, max_size=3).map(".".join),
        max_size=3,
    ),
)
def test_lint_reports_exactly_what_the_host_refuses(
    host_module: None, workdir: Path, root: str, steps: list[str], allow: list[str]
) -> None:
    """Every refusal on the host is found by lint, and every finding is a refusal the host
    makes, unless the probe failed on the way there (``obj[0]`` of an object that is no
    container raises TypeError before ``.a`` is read)."""
    probe = workdir / "probe.py"
    probe.write_text(f"print({root}{''.join(steps)})\n")
    probe.chmod(0o644)
    policy_path = workdir / "policy.yaml"
    policy_path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "probe": {"path": "probe.py"},
                "expose": {"obj": {"target": f"{HOST_MODULE}:tree", "allow": allow}},
                "audit": {"path": "audit.jsonl", "fsync": False},
            }
        )
    )
    policy = parse_policy(policy_path.read_text(), path=str(policy_path))
    findings = lint_probe(str(probe), policy, policy_name="policy.yaml")
    with contextlib.redirect_stderr(None):
        attempt = run_probe(policy_path)
    if attempt.outcome is Outcome.DENIED:
        assert findings, attempt.reason
    if findings:
        assert attempt.outcome in (Outcome.DENIED, Outcome.ERROR), (findings, attempt.reason)
    else:
        assert attempt.outcome is not Outcome.DENIED, attempt.reason


def _probe_file(tmp_path: Path, text: str, mode: int = 0o644) -> str:
    path = tmp_path / "bar.py"
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def test_a_file_the_host_would_refuse_is_reported_and_still_checked(tmp_path: Path) -> None:
    """A group-writable probe is refused by the host; its code is checked all the same."""
    path = _probe_file(tmp_path, "print(os)\n", mode=0o664)
    findings = lint_probe(path, POLICY, policy_name="seed.yaml")
    assert [f.rule for f in findings] == ["mode", "expose"]
    assert findings[0].location == path
    assert findings[0].hint == f"chmod go-w {path}"


def test_unpinned_content_names_the_digest_to_pin(tmp_path: Path) -> None:
    """The security team pins what was reviewed; lint hands them the digest."""
    pinned = POLICY.model_copy(
        update={"probe": POLICY.probe.model_copy(update={"sha256": ("0" * 64,)})}
    )
    path = _probe_file(tmp_path, "print(1)\n")
    (finding,) = lint_probe(path, pinned, policy_name="seed.yaml")
    assert finding.rule == "sha256"
    digest = hashlib.sha256(b"print(1)\n").hexdigest()
    assert finding.hint == f"to allow this content, add its sha256 to probe.sha256: {digest}"


def test_a_missing_or_symlinked_probe_is_one_finding(tmp_path: Path) -> None:
    """Nothing can be checked in a file the host would not open."""
    missing = lint_probe(str(tmp_path / "nope.py"), POLICY, policy_name="seed.yaml")
    assert [(f.rule, f.message) for f in missing] == [("missing", "no such file")]
    (tmp_path / "link.py").symlink_to(_probe_file(tmp_path, "print(1)\n"))
    linked = lint_probe(str(tmp_path / "link.py"), POLICY, policy_name="seed.yaml")
    assert [f.rule for f in linked] == ["symlink"]
