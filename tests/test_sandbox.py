"""Benign probes a real operator writes, with exact expected output, run in-process through
run_probe; and the sandbox's refusals for the probe's own values."""

from __future__ import annotations

import collections
import sys
import types
from pathlib import Path

import pytest
import yaml

from safeprobe import Outcome, run_probe
from safeprobe.probe.budget import Budget, OutputBuffer
from safeprobe.probe.own_methods import SAFE_METHODS, sized_names
from safeprobe.probe.render import RenderLimits
from safeprobe.probe.sandbox import AttemptState, Sandbox

MODULE = "safeprobe_sandbox_test_host"


class Worker:
    def __init__(self, name: str, jobs: int) -> None:
        self.name = name
        self.jobs = jobs


@pytest.fixture(scope="module")
def host() -> types.ModuleType:
    module = types.ModuleType(MODULE)
    module.stats = {  # type: ignore[attr-defined]
        "requests": {"GET": 120, "POST": 30, "DELETE": 2},
        "latency_ms": [12.5, 8.0, 30.25, 9.75],
        "workers": [Worker("w1", 3), Worker("w2", 5)],
        "queue": collections.deque(["a", "b"]),
        "db_password": "hunter2",
        "tags": frozenset({"prod"}),
    }
    sys.modules[MODULE] = module
    yield module
    del sys.modules[MODULE]


def _run(tmp_path: Path, probe: str) -> tuple[Outcome, str, str]:
    (tmp_path / "probe.py").write_text(probe)
    (tmp_path / "probe.py").chmod(0o644)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                # The sandbox is the same code in both isolations; thread keeps these unit
                # tests in the fast tier (the corpus and e2e tests run the forked path).
                "isolation": "thread",
                "probe": {"path": "probe.py"},
                "expose": {"stats": {"target": f"{MODULE}:stats", "allow": ["name", "jobs"]}},
                "audit": {"path": "audit.jsonl"},
                "limits": {"timeout": "5s"},
            }
        )
    )
    attempt = run_probe(policy)
    return attempt.outcome, attempt.output, attempt.reason


BENIGN = [
    ("print(stats['requests'])", "{'GET': 120, 'POST': 30, 'DELETE': 2}\n"),
    ("print(sum(stats['requests'].values()))", "152\n"),
    (
        "for method, count in sorted(stats['requests'].items()):\n    print(f'{method:<6} {count:>4}')",
        "DELETE    2\nGET     120\nPOST     30\n",
    ),
    ("print(max(stats['latency_ms']), min(stats['latency_ms']))", "30.25 8.0\n"),
    ("lat = stats['latency_ms']\nprint(f'{sum(lat) / len(lat):.2f}')", "15.12\n"),
    ("print([w.name for w in stats['workers']])", "['w1', 'w2']\n"),
    ("print(sum(w.jobs for w in stats['workers']))", "8\n"),
    ("print(stats['workers'][0])", "Worker(name='w1', jobs=3)\n"),
    ("print(stats['db_password'])", "<redacted>\n"),
    (
        "print(float('1.5'), float(2), float(), isinstance(1.5, float))\n"
        "try:\n    float('x' * 1000)\nexcept ValueError as e:\n    print(e)\n"
        "try:\n    [1].index('x' * 1000)\nexcept ValueError as e:\n    print(e)",
        "1.5 2.0 0.0 True\ncould not convert to float\nlist.index(x): x not in list\n",
    ),
    (
        "print(list(stats['queue']), len(stats['tags']), 'prod' in stats['tags'])",
        "['a', 'b'] 1 True\n",
    ),
    (
        "def top(d, n):\n    return sorted(d, key=lambda k: -d[k])[:n]\nprint(top(stats['requests'], 2))",
        "['GET', 'POST']\n",
    ),
    (
        "counts = {}\nfor w in stats['workers']:\n    counts[w.name] = w.jobs * 2\nprint(counts)",
        "{'w1': 6, 'w2': 10}\n",
    ),
    ("print(', '.join(sorted(stats['requests'])))", "DELETE, GET, POST\n"),
    ("print('{} requests'.format(len(stats['requests'])))", "3 requests\n"),
    (
        "print(any(v > 100 for v in stats['requests'].values()), all(stats['latency_ms']))",
        "True True\n",
    ),
    (
        "print(dict(zip(['x', 'y'], [1, 2])), list(enumerate('ab')))",
        "{'x': 1, 'y': 2} [(0, 'a'), (1, 'b')]\n",
    ),
    (
        "x = [3, 1, 2]\nx.sort()\nx.append(4)\nprint(x, x[::-1], tuple(x))",
        "[1, 2, 3, 4] [4, 3, 2, 1] (1, 2, 3, 4)\n",
    ),
    ("print(isinstance(stats, dict), isinstance(stats['latency_ms'], list))", "True True\n"),
    (
        "print(repr('a\\nb'), str(1.5), int('42') + 1, round(2.675, 2), abs(-3))",
        "'a\\nb' 1.5 43 2.67 3\n",
    ),
    (
        "try:\n    stats['missing']\nexcept KeyError as e:\n    print('no key', e)",
        "no key 'missing'\n",
    ),
    ("def execute():\n    print('called')", "called\n"),
    ("print({**stats['requests']}['GET'], [*stats['queue']])", "120 ['a', 'b']\n"),
    ("print('%d%%' % 50, '%s' % stats['queue'])", "50% deque(['a', 'b'])\n"),
    ("print(b'abc'.decode(), 'é'.encode('utf-8'))", "abc b'\\xc3\\xa9'\n"),
    # Unpacking: tuples and lists of the exact length take the fast path, the rest
    # (strings, starred targets, nested targets, views) RestrictedPython's guard.
    ("for a, b in [(1, 2), [3, 4], 'xy']:\n    print(a, b)", "1 2\n3 4\nx y\n"),
    ("for a, (b, c) in [(1, (2, 3)), (4, 'ab')]:\n    print(a, b, c)", "1 2 3\n4 a b\n"),
    ("for a, *b in [(1, 2, 3), (4,)]:\n    print(a, b)", "1 [2, 3]\n4 []\n"),
    (
        "a, b = (1, 2)\nc, d = [3, 4]\ne, *f = 'xyz'\nprint(a, b, c, d, e, f)",
        "1 2 3 4 x ['y', 'z']\n",
    ),
    ("first, second = stats['workers']\nprint(first.name, second.jobs)", "w1 5\n"),
    (
        "t = 0\nfor i in range(5):\n    t += i\nf = 0.5\nf += 1\nf += 1.0\nb = True\nb += True\nprint(t, f, b)",
        "10 2.5 2\n",
    ),
]


@pytest.mark.parametrize(("probe", "expected"), BENIGN)
def test_benign_probe_prints_exactly(tmp_path: Path, host, probe: str, expected: str) -> None:
    """A benign probe runs and prints exactly what plain Python would."""
    outcome, output, reason = _run(tmp_path, probe + "\n")
    assert outcome is Outcome.OK, reason
    assert output == expected


REFUSED = [
    ("print(type(1))", "name"),
    ("print(getattr(stats, 'x'))", "name"),
    ("f = lambda: 1\nf.x = 2", "read-only"),
    ("print((1).to_bytes(10**9, 'big'))", "attribute"),
    ("print('x'.encode('cp037'))", "codec"),
    ("print(str(b'x', 'cp037'))", "codec"),
    ("print('a'.format_map({}))", "attribute"),
    ("print(isinstance(1, print))", "isinstance"),
    ("print(sum([[1]], []))", "sum"),
    ("print(open)", "name"),
    ("print(1, file=stats)", "print"),
    ("print(stats['workers'][0].__class__)", "compile"),
]


@pytest.mark.parametrize("probe", ["for a, b in [(1, 2, 3)]:\n    pass", "a, b = [1]"])
def test_unpacking_the_wrong_number_of_items_raises(tmp_path: Path, host, probe: str) -> None:
    """The fast path for unpacking keeps Python's own error for a length mismatch."""
    outcome, _output, reason = _run(tmp_path, probe + "\n")
    assert outcome is Outcome.ERROR, reason
    assert "ValueError" in reason


@pytest.mark.parametrize(("probe", "rule"), REFUSED)
def test_refused_probe_names_its_rule(tmp_path: Path, host, probe: str, rule: str) -> None:
    """A refused probe is denied or fails to compile, and the reason names its rule."""
    outcome, _output, reason = _run(tmp_path, probe + "\n")
    assert outcome in (Outcome.DENIED, Outcome.COMPILE_ERROR), reason
    assert rule in reason


def test_methods_outside_the_sized_names_need_no_bound() -> None:
    """guarded_getattr hands out a safe method outside its type's sized_names as it is,
    without asking OwnMethods.sized; so OwnMethods.sized must have no wrapper for any of
    them (list.pop among them: only a dict's or a set's pop hashes a key)."""
    state = AttemptState(
        budget=Budget(timeout_s=1.0, max_steps=1000, max_items=1000),
        output=OutputBuffer(1000),
        render_limits=RenderLimits(),
    )
    sandbox = Sandbox(state)
    samples: dict[type, object] = {
        str: "ab",
        bytes: b"ab",
        list: [1],
        dict: {1: 2},
        set: {1},
        frozenset: frozenset({1}),
        tuple: (1,),
        int: 1,
        float: 1.0,
        complex: 1j,
    }
    assert set(samples) == set(SAFE_METHODS)
    for kind, names in SAFE_METHODS.items():
        for name in names - sized_names(kind):
            assert sandbox.methods.sized(samples[kind], name) is None, (kind, name)
    assert "pop" not in sized_names(list)
    assert "pop" in sized_names(dict)
