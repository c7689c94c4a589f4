"""What a host sends back reaches the operator's terminal as text, never as terminal
commands or as lines of `safeprobe trigger`'s own.

Technique: terminal escape injection and forged log lines (CWE-150, CWE-117): an escape
sequence in program output can set the window title, rewrite what the screen shows, or on
some terminals answer back into the shell (H. D. Moore, "Terminal Emulator Security Issues",
2003, CVE-2003-0063); bidirectional controls reorder what is shown (Trojan Source,
CVE-2021-42574). The host's user may be hostile to the operator, who often runs `trigger`
as root: the probe's output, the record and the stacks dump are all the host's text, and
under `--children` a forged '== worker PID ==' line would pass one worker's text off as
another's result.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness import Host, base_policy, run_cli

# What a hostile host's output carries: a title-setting OSC, a CSI that clears the screen,
# an 8-bit CSI, a carriage return that overwrites the line, a right-to-left override, and
# whole lines imitating trigger's own heading and result line for another pid.
FORGED = (
    "print('\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\rok\\u202e')\n"
    "print('== worker 99999 ==')\n"
    "print('#1 default in process 99999: ok in 1 ms')\n"
)
_CONTROLS = {chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))} - {"\n", "\t"}


def _host(make_host, tmp_path: Path) -> Host:
    host: Host = make_host(FORGED, base_policy(tmp_path, output="file"))
    return host


def test_host_output_reaches_the_terminal_without_control_characters(
    make_host, tmp_path: Path
) -> None:
    """No control or bidi character of the host's output reaches trigger's stdout."""
    host = _host(make_host, tmp_path)
    done = run_cli("trigger", str(host.pid), "--wait", "20")
    assert done.returncode == 0, done.stderr
    assert "owned" in done.stdout  # the text is shown, made harmless
    shown = set(done.stdout) & (_CONTROLS | {"\u202e"})
    assert not shown, sorted(map(hex, map(ord, shown)))


def test_children_headings_cannot_be_forged_by_a_worker(make_host, tmp_path: Path) -> None:
    """Under --children the only lines that start like a heading or a result are trigger's."""
    host = _host(make_host, tmp_path)
    done = run_cli("trigger", "--children", str(host.pid), "--wait", "20")
    assert done.returncode == 0, done.stderr
    headings = [line for line in done.stdout.splitlines() if line.startswith("==")]
    assert headings == [f"== master {host.pid} =="], done.stdout
    results = [line for line in done.stdout.splitlines() if line.startswith("#")]
    assert all(f"in process {host.pid}:" in line for line in results), done.stdout
    assert "99999" in done.stdout  # the worker's text is still shown, under its own heading
