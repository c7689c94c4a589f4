"""Issue 13's table, row by row: what a probe prints for everyday stdlib values is what plain
Python prints for the same probe on the same objects, in both isolation modes; and the
pieces under it (closed values, type names, reserved names, hints)."""

from __future__ import annotations

import abc
import collections
import contextlib
import dataclasses
import datetime
import decimal
import enum
import fractions
import gc
import io
import sys
import types
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from safeprobe import Outcome, run_probe
from safeprobe.attempt import PROBE_BUILTINS, PROBE_NAMES
from safeprobe.errors import ProbeCompileError
from safeprobe.probe.budget import Budget, OutputBuffer
from safeprobe.probe.compiler import compile_probe
from safeprobe.probe.render import RenderLimits
from safeprobe.probe.sandbox import AttemptState, Sandbox
from safeprobe.probe.values import ISINSTANCE_TYPES, is_closed
from tests.harness import write_policy

MODULE = "safeprobe_stdlib_values_host"


class Color(enum.Enum):
    RED = 1
    GREEN = 2


@dataclasses.dataclass
class Order:
    id: int
    total: decimal.Decimal
    when: datetime.datetime


@pytest.fixture(scope="module")
def host() -> Iterator[types.ModuleType]:
    module = types.ModuleType(MODULE)
    module.state = {  # type: ignore[attr-defined]
        "order": Order(1, decimal.Decimal("9.99"), datetime.datetime(2026, 1, 1)),
        "buf": bytearray(b"abc"),
        "uid": uuid.UUID(int=5),
        "when": datetime.datetime(2026, 3, 14, 9, 26, 53, tzinfo=datetime.UTC),
        "color": Color.GREEN,
        "td": datetime.timedelta(hours=1, seconds=30),
        "counter": collections.Counter("abracadabra"),
        "v": 42,
    }
    sys.modules[MODULE] = module
    yield module
    del sys.modules[MODULE]


# The issue's table: each probe, run in plain Python (typename spelled as type().__name__).
TABLE = {
    "dataclass": "print(state['order'])",
    "bytearray": "print(state['buf'])",
    "uuid": "print(state['uid'])",
    "year": "print(state['when'].year)",
    "enum-name": "print(state['color'].name)",
    "total-seconds": "print(state['td'].total_seconds())",
    "most-common": "print(state['counter'].most_common(1))",
    "isinstance-view": "print(isinstance(state['v'], (int, str)))",
    "isinstance-literal": "print(isinstance(3, int))",
    "buffer-index": "buf = state['buf']\nprint(buf[0], len(buf), bytes(buf))",
    "typename": "print(typename(state['v']), typename(state['order']))",
}


def _plain(host: types.ModuleType, source: str) -> str:
    captured = io.StringIO()
    namespace = {"state": host.state, "typename": lambda v: type(v).__name__}
    with contextlib.redirect_stdout(captured):
        exec(compile(source, "probe.py", "exec"), namespace)
    return captured.getvalue()


def _probe(tmp_path: Path, source: str, isolation: str) -> tuple[Outcome, str, str]:
    policy = {
        "version": 1,
        "isolation": isolation,
        "probe": {"path": "probe.py"},
        "expose": {"state": {"target": f"{MODULE}:state", "allow": ["**"]}},
        "audit": {"path": "audit.jsonl"},
        "limits": {"timeout": "5s"},
    }
    attempt = run_probe(write_policy(tmp_path, policy, source))
    return attempt.outcome, attempt.output, attempt.reason


@pytest.mark.parametrize("row", list(TABLE))
def test_issue_table_row_prints_what_plain_python_prints(
    host: types.ModuleType, tmp_path: Path, row: str, isolation: str
) -> None:
    """Each row of issue 13's table prints, byte for byte, what plain Python prints."""
    expected = _plain(host, TABLE[row] + "\n")
    outcome, output, reason = _probe(tmp_path, TABLE[row] + "\n", isolation)
    assert (outcome, output) == (Outcome.OK, expected), reason


def test_the_table_matches_the_issue_text(host: types.ModuleType) -> None:
    """The plain outputs are the issue's right-hand column (so the rows test what it says)."""
    assert _plain(host, TABLE["dataclass"]) == (
        "Order(id=1, total=Decimal('9.99'), when=datetime.datetime(2026, 1, 1, 0, 0))\n"
    )
    assert _plain(host, TABLE["bytearray"]) == "bytearray(b'abc')\n"
    assert _plain(host, TABLE["uuid"]) == "00000000-0000-0000-0000-000000000005\n"
    assert _plain(host, TABLE["buffer-index"]) == "97 3 b'abc'\n"
    assert _plain(host, TABLE["typename"]) == "int Order\n"


def test_type_name_attribute_is_refused_at_compile_time_with_the_alternative() -> None:
    """``type(v).__name__`` cannot compile (a private name); the error offers typename()."""
    with pytest.raises(ProbeCompileError, match=r"typename\(x\)"):
        compile_probe("print(type(v).__name__)\n", path="probe.py")
    with pytest.raises(ProbeCompileError, match=r"asdict\(x\)"):
        compile_probe("print(p._asdict())\n", path="probe.py")


def _sandbox() -> Sandbox:
    budget = Budget(timeout_s=5.0, max_steps=10**6, max_items=10_000)
    state = AttemptState(budget=budget, output=OutputBuffer(1 << 16), render_limits=RenderLimits())
    return Sandbox(state)


def test_every_name_a_probe_sees_is_reserved_from_exposures() -> None:
    """The sandbox's builtins namespace is exactly attempt.PROBE_BUILTINS (True, False and
    None aside: keywords), the list policy/ reserves from exposures, so the two cannot drift."""
    builtins = set(_sandbox().globals({}, name="probe")["__builtins__"])  # type: ignore[call-overload]
    builtins -= {"True", "False", "None"}
    assert builtins == PROBE_BUILTINS, sorted(builtins ^ PROBE_BUILTINS)
    assert set(ISINSTANCE_TYPES) <= PROBE_BUILTINS <= PROBE_NAMES


def test_isinstance_with_an_abc_type_name_runs_no_metaclass_hook() -> None:
    """Fraction's and ChainMap's metaclass is ABCMeta, whose check asks every subclass's
    metaclass; the probe's isinstance() is nominal (the MRO by identity), so a host
    subclass's hook never runs, and a plain Fraction still answers True. (The hostile
    class lives only inside this test: while it exists, this process's Fractions and
    Decimals are views, numeric_hooks.numeric_abcs_plain.)"""
    calls = []

    class CountingMeta(abc.ABCMeta):
        def __subclasscheck__(cls, subclass: type) -> bool:
            calls.append(subclass)
            return False

        def __instancecheck__(cls, instance: object) -> bool:
            calls.append(instance)
            return False

    class HostRational(fractions.Fraction, metaclass=CountingMeta):
        pass

    try:
        sandbox = _sandbox()
        names = sandbox.globals({}, name="probe")["__builtins__"]
        check = names["isinstance"]  # type: ignore[index]
        token = names["Fraction"]  # type: ignore[index]
        assert HostRational(1, 2)  # the class exists with its hook
        assert check(fractions.Fraction(1, 3), token) is True
        assert check(3, (token, names["int"])) is True  # type: ignore[index]
        assert check("x", token) is False
        assert calls == []
        assert any(type(kind) is abc.ABCMeta for kind in ISINSTANCE_TYPES.values())
    finally:
        del HostRational, CountingMeta
        gc.collect()


class HostDatetime(datetime.datetime):
    pass


class HostZone(datetime.tzinfo):
    def utcoffset(self, dt: datetime.datetime | None) -> datetime.timedelta:
        return datetime.timedelta(0)


class Labelled(enum.Enum):
    A = 1

    def label(self) -> str:
        return "host code"


class Wrapping(enum.Enum):
    A = object()


def test_only_exact_stdlib_values_holding_stdlib_values_are_closed() -> None:
    """Subclasses, a host tzinfo, an enum with methods or a host object as value are not
    closed: they stay views; the stdlib's own are closed."""
    assert is_closed(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    assert is_closed(decimal.Decimal("1.5"))
    assert is_closed(uuid.UUID(int=5))
    assert is_closed(Color.RED)
    assert not is_closed(HostDatetime(2026, 1, 1))
    assert not is_closed(datetime.datetime(2026, 1, 1, tzinfo=HostZone()))
    assert not is_closed(Labelled.A)
    assert not is_closed(Wrapping.A)
    assert not is_closed(object())


def test_decimal_arithmetic_ignores_a_host_default_context(
    host: types.ModuleType, tmp_path: Path
) -> None:
    """A host that raised decimal.DefaultContext.prec does not make a probe's division slow
    or print differently: probes compute in plain Python's default context."""
    saved = decimal.DefaultContext.prec
    decimal.DefaultContext.prec = 5000
    try:
        outcome, output, reason = _probe(tmp_path, "print(state['order'].total / 7)\n", "thread")
    finally:
        decimal.DefaultContext.prec = saved
    expected = decimal.Context(prec=28).divide(decimal.Decimal("9.99"), 7)
    assert (outcome, output) == (Outcome.OK, f"{expected}\n"), reason
