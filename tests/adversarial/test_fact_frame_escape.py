"""Technique: reach a live frame (and through it f_globals, f_locals, f_back), a thread, a
task or a coroutine through the built-in facts. A thread dump is built from
sys._current_frames(), whose frames lead to every module's globals, and a task dump from
Task objects whose coroutines hold frames; a fact that kept any of them would hand the probe
the whole host.
Source: Python docs, sys._current_frames() ("the returned frames ... can be used to access
the thread's variables"); RestrictedPython CVE-2023-37271 (stack frame escape through a
generator's gi_frame); simpleeval issue #138 (gi_frame.f_back.f_globals)."""

from pathlib import Path

import pytest

from tests.harness import base_policy

POLICY = base_policy(Path(), facts=["threads", "process", "gc", "asyncio"])

PROBES = [
    "print(threads[0].stack[0].f_globals)",
    "f = threads[0].stack[0]\nprint(f.f_back.f_globals)",
    "print(threads[0].stack[0].frame)",
    "print(threads[0].frame)",
    "print(threads[0].thread)",
    "print(threads[0]._text)",
    "print(threads.__class__)",
    "print(threads[0].stack[0].__reduce_ex__(2))",
    "print(threads.entries.count.__self__)",
    "print('{0.entries}'.format(threads))",
    "print('{0[0]}'.format(threads))",
    "print('%(entries)s' % threads)",
    "print(asyncio.coro)",
    "print(asyncio.loop)",
    "print(asyncio.loops[0].loop)",
    "print(gc.garbage[0])",
    "print(gc.get_objects())",
    "print(process.environ)",
    "print(isinstance(threads, object))",
    "print(vars(threads[0]))",
    "print(getattr(threads[0], 'name'))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_facts_lead_to_no_live_object(attack, probe: str) -> None:
    record = attack(probe, policy=POLICY)
    assert record["outcome"] in ("denied", "compile_error", "error"), record["reason"]
    assert "<frame" not in record["_report"]
    assert " at 0x" not in record["_report"]


def test_walking_every_field_reaches_only_plain_values(attack) -> None:
    """A probe that walks every field of the thread dump prints only names and numbers."""
    probe = (
        "for t in threads:\n"
        "    print(t.name, t.ident, t.native_id, t.daemon, t.current, t.frames_omitted)\n"
        "    for f in t.stack:\n"
        "        print(' ', f.file, f.line, f.function)\n"
    )
    record = attack(probe, allowed=frozenset({"ok"}), policy=POLICY)
    assert "safeprobe-runner" in record["_report"]
