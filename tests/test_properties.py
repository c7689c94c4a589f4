"""Property: random nested host structures, read by random sequences of probe operations
(and refused writes) through the real compile-and-run path, are never changed. (That no
raw mutable host object reaches a probe is the property in test_proxy.py.)"""

from __future__ import annotations

import copy
import sys
import types
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeprobe import Outcome, run_probe
from tests.strategies import host_values

MODULE = "safeprobe_property_host"

# Operations a probe may apply to a value `v`; each line is guarded by try/except in the
# generated probe, so type errors on the wrong kind of value are fine.
OPERATIONS = (
    "len(v)",
    "str(v)",
    "repr(v)",
    "f'{v}'",
    "'%s %r' % (v, v)",
    "list(v)",
    "sorted(v)",
    "[x for x in v]",
    "v.keys()",
    "v.values()",
    "v.items()",
    "v.get('password')",
    "v.copy()",
    "v.count(1)",
    "v[0]",
    "v[1:3]",
    "v['a']",
    "1 in v",
    "{**v}",
    "[*v]",
    "dict(v)",
    "set(v)",
    "isinstance(v, dict)",
)
# Each "write" must be refused; the host must be unchanged either way.
WRITES = ("v['a'] = 1", "v.append(1)", "v.clear()", "del v[0]", "v += [1]", "v.update({})")


@pytest.fixture
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prop")


def _probe(ops: list[str]) -> str:
    lines = ["v = data", "seen = []"]
    for op in ops:
        body = f"    {op}" if op in WRITES else f"    seen.append({op})"
        lines += ["try:", body, "except Exception:", "    pass"]
    lines.append("print(len(seen))")
    return "\n".join(lines) + "\n"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=host_values(),
    ops=st.lists(st.sampled_from(OPERATIONS + WRITES), min_size=1, max_size=8),
)
@pytest.mark.slow
def test_allowed_operations_never_change_the_host(
    folder: Path, value: object, ops: list[str]
) -> None:
    """No allowed sequence of operations on any host value changes that value or its type."""
    module = types.ModuleType(MODULE)
    module.data = value  # type: ignore[attr-defined]
    before = copy.deepcopy(value)
    sys.modules[MODULE] = module
    try:
        (folder / "probe.py").write_text(_probe(ops))
        (folder / "probe.py").chmod(0o644)
        policy = folder / "policy.yaml"
        policy.write_text(
            yaml.safe_dump(
                {
                    "version": 1,
                    "probe": {"path": "probe.py"},
                    "expose": {"data": {"target": f"{MODULE}:data", "allow": ["**"]}},
                    "audit": {"path": "audit.jsonl", "fsync": False},
                    "limits": {"timeout": "5s"},
                }
            )
        )
        attempt = run_probe(policy)
    finally:
        del sys.modules[MODULE]
    assert attempt.audited
    assert attempt.outcome in (Outcome.OK, Outcome.DENIED), attempt.reason
    assert value == before, "the host value changed"
    assert type(value) is type(before)
