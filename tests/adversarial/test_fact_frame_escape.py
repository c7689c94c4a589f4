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
    "print(gc.get_objects())",
    "print(process.environ)",
    "print(isinstance(threads, object))",
    "print(vars(threads[0]))",
    "print(getattr(threads[0], 'name'))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_facts_lead_to_no_live_object(attack, probe: str) -> None:
    """No fact leads to a live frame or object, and none of their addresses is printed."""
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


# Against a host with a running loop and a task (facts_host.py), so each probe reaches a
# real LoopInfo or TaskInfo record and its attribute guard, not an IndexError.
ASYNCIO_PROBES = [
    "print(asyncio.loops[0].loop)",
    "print(asyncio.loops[0]._loop)",
    "print(asyncio[0].task)",
    "print(asyncio[0].coro)",
    "print(asyncio[0].stack[0].f_globals)",
    "print(asyncio.entries[0].__class__)",
]


@pytest.mark.parametrize("probe", ASYNCIO_PROBES)
def test_asyncio_records_lead_to_no_live_loop_task_or_frame(
    make_host, tmp_path: Path, probe: str
) -> None:
    """The asyncio records exist but lead to no live loop, task or frame."""
    policy = base_policy(tmp_path, facts=["asyncio"], expose={})
    host = make_host(probe, policy, script="facts_host.py")
    check = make_host(
        "print(len(asyncio) > 0, len(asyncio.loops))\n", policy, script="facts_host.py"
    )
    assert check.report(check.probe()["seq"]).splitlines()[1] == "True 1"  # records exist
    record = host.probe()
    # Refused by the compiler (underscore and frame names) or by the record's guard; never
    # an ordinary error, which would mean the probe never reached the record.
    assert record["outcome"] in ("denied", "compile_error"), record["reason"]
    assert "<frame" not in host.stderr()
    assert " at 0x" not in host.stderr()
    assert host.alive()
