"""Technique: forge lines of a thread or task dump, or send terminal control sequences to
the operator, through a name the host took from outside (a thread named after a request, a
task named after a user): a newline and a fake 'File ...' line, an ANSI escape that clears
the screen, a carriage return that overwrites the line.
Source: CWE-117, "Improper Output Neutralization for Logs"; CWE-150, "Improper Neutralization
of Escape, Meta, or Control Sequences"."""

from pathlib import Path

from tests.harness import base_policy

POLICY = base_policy(Path(), expose={}, facts=["threads", "asyncio"])


def test_host_chosen_names_cannot_forge_dump_lines(make_host) -> None:
    """A thread or task name the host chose is printed escaped and cannot forge dump lines."""
    host = make_host("print(threads)\nprint(asyncio)\n", POLICY, script="facts_host.py")
    record = host.probe()
    report = host.report(record["seq"])
    assert record["outcome"] == "ok", record["reason"]
    assert '\n  File "/forged.py"' not in report
    assert "\x1b" not in report
    assert "\r" not in report
    escaped = '"evil\\"\\n  File \\"/forged.py\\", line 1 in forged\\x1b[2J\\r"'
    assert f"Thread {escaped} ident=" in report
    assert f"Task {escaped} pending" in report
    assert host.alive()
    assert len(host.records()) == 1


def test_the_raw_name_is_still_readable_as_data(make_host) -> None:
    """Escaping is for display: the probe reads the name as it is, and repr() shows it."""
    probe = "print([repr(t.name) for t in threads if t.name.startswith('evil')])\n"
    host = make_host(probe, POLICY, script="facts_host.py")
    record = host.probe()
    assert record["outcome"] == "ok", record["reason"]
    assert "\\n  File" in host.report(record["seq"])
