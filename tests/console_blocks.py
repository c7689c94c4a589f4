"""The console blocks of README.md, docs/*.md and examples/*/README.md, run as a reader
would type them.

CI runs every transcript (tests/e2e/test_console_blocks.py, one test per block), so a
transcript cannot drift from what the commands print. ``python -m tests.console_blocks``
runs them all outside pytest and lists the ones not run.

The convention, for whoever writes a transcript:

- A fenced block opened with ```` ```console ```` is a transcript. A line starting with
  ``$ `` is a command (a line ending in ``\\`` continues on the next); the lines after it,
  up to the next command, are what it prints: stdout and stderr together, as a terminal
  shows them, including what background jobs print meanwhile.
- Each block runs in its own ``bash``, in a fresh temporary folder holding copies of the
  repository's ``examples/`` and ``policies/`` (as a clone's root: write
  ``$ cd examples/seed`` for another folder). ``python`` and ``safeprobe`` are the test
  environment's; ``NO_COLOR`` and ``PYTHONUNBUFFERED`` are set, and ``TMPDIR`` is the
  block's folder (so what ``demo --keep`` keeps goes with it). ``cd``, variables, ``&`` and
  ``$!`` work as in a terminal, and every process the block started is killed at its end.
- ``<!-- console: continued -->`` on the line before a block: it goes on from the previous
  console block of the same file (same shell, folder and background processes); the two
  run as one test.
- ``<!-- console: not run: REASON -->`` on the line before a block: it is not run, and is
  listed as skipped with the reason. Keep these few.

In expected output:

- ``<pid>``, ``<port>``, ``<n>``: an integer; ``<num>``: a decimal number; ``<time>``: an
  RFC 3339 time; ``<hash>``: hex digits; ``<version>``: a dotted version.
- ``...`` or ``…`` inside a line: any text; alone on a line: any number of lines (or none).
- A run of spaces matches any run of spaces (a table's columns widen with its values);
  trailing spaces and trailing blank lines are ignored.

In a command, a placeholder such as ``<port>`` stands for the value it last matched in the
output above it (``curl -s localhost:<port>/users/1``).

A command's output is complete when it matches and then nothing more arrives for a moment
(``QUIET_S``): background output that comes later than that belongs to the next command. A
command that never matches fails after ``MATCH_DEADLINE_S``, with the difference.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Generous bounds for a shared 2-core machine: a command's own run, then its output.
COMMAND_DEADLINE_S = 90.0
MATCH_DEADLINE_S = 20.0
# Output that matches must stay unchanged this long before the next command is typed; it is
# also the pause a person leaves between commands (the seed policy's cooldown is 500 ms).
QUIET_S = 0.7

PLACEHOLDERS = {
    "pid": r"\d+",
    "port": r"\d+",
    "n": r"-?\d+",
    "num": r"-?\d+(?:\.\d+)?",
    "time": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?",
    "hash": r"[0-9a-f]+",
    "version": r"\d+(?:\.\d+)+\S*",
}
_TOKEN = re.compile(r"<(" + "|".join(PLACEHOLDERS) + r")>|\.\.\.|…| +")
_ELISION_LINES = frozenset({"...", "…"})
_CONTINUED = "<!-- console: continued -->"
_NOT_RUN = re.compile(r"<!--\s*console:\s*not run:\s*(.+?)\s*-->")


@dataclass(frozen=True)
class Step:
    """One command of a transcript and what it prints."""

    line: int
    command: str
    expected: tuple[str, ...]


@dataclass(frozen=True)
class Block:
    """One ```console block: where it is, its steps, and how it runs."""

    file: str
    line: int
    steps: tuple[Step, ...]
    continued: bool = False
    not_run: str | None = None


@dataclass(frozen=True)
class Session:
    """Blocks that run in one shell: a block and those that continue it."""

    blocks: tuple[Block, ...]

    @property
    def name(self) -> str:
        first = self.blocks[0]
        return f"{first.file}:" + "+".join(str(b.line) for b in self.blocks)


def parse_blocks(text: str, *, file: str) -> list[Block]:
    """Every ```console block of a Markdown text, with the line of its opening fence."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```console":
            i += 1
            continue
        start = i + 1
        before = lines[i - 1].strip() if i else ""
        not_run = _NOT_RUN.fullmatch(before)
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        blocks.append(
            Block(
                file=file,
                line=start,
                steps=tuple(_parse_steps(lines[start:end], first_line=start + 1)),
                continued=before == _CONTINUED,
                not_run=not_run[1] if not_run else None,
            )
        )
        i = end + 1
    return blocks


def _parse_steps(lines: Sequence[str], *, first_line: int) -> Iterator[Step]:
    index = 0
    if lines and not lines[0].startswith("$ "):
        raise ValueError(f"line {first_line}: a console block starts with a `$ ` command")
    while index < len(lines):
        line_no = first_line + index
        command = lines[index][2:]
        index += 1
        while command.endswith("\\") and index < len(lines):
            command = command + "\n" + lines[index]
            index += 1
        expected: list[str] = []
        while index < len(lines) and not lines[index].startswith("$ "):
            expected.append(lines[index])
            index += 1
        yield Step(line=line_no, command=command, expected=tuple(expected))


def sessions(blocks: Sequence[Block]) -> list[Session]:
    """Group each block with the blocks that continue it."""
    grouped: list[list[Block]] = []
    for block in blocks:
        if block.continued and grouped and grouped[-1][0].file == block.file:
            grouped[-1].append(block)
        else:
            grouped.append([block])
    return [Session(tuple(group)) for group in grouped]


def documented_sessions(repo: Path = REPO) -> list[Session]:
    """The sessions of README.md, docs/*.md and examples/*/README.md, in reading order."""
    found: list[Session] = []
    documents = [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]
    for path in documents + sorted((repo / "examples").glob("*/README.md")):
        relative = path.relative_to(repo).as_posix()
        found.extend(sessions(parse_blocks(path.read_text(encoding="utf-8"), file=relative)))
    return found


def normalise(text: str) -> str:
    """Output as compared: no trailing spaces on a line, no trailing blank lines."""
    return "\n".join(line.rstrip() for line in text.splitlines()).rstrip("\n")


def expected_pattern(expected: Sequence[str]) -> tuple[re.Pattern[str], list[str]]:
    """A regular expression for a step's expected output, and the placeholder name of each
    of its groups, in order."""
    names: list[str] = []
    parts: list[str] = []
    for line in normalise("\n".join(expected)).split("\n") if expected else []:
        if line.strip() in _ELISION_LINES:
            parts.append(r"(?:[^\n]*\n)*?")
            continue
        pattern, position = [], 0
        for token in _TOKEN.finditer(line):
            pattern.append(re.escape(line[position : token.start()]))
            if token[1]:
                names.append(token[1])
                pattern.append(f"({PLACEHOLDERS[token[1]]})")
            elif token[0] in ("...", "…"):
                pattern.append(r"[^\n]*?")
            else:
                pattern.append(" +")
            position = token.end()
        pattern.append(re.escape(line[position:]))
        parts.append("".join(pattern) + r"\n")
    return re.compile("".join(parts)), names


def match_output(expected: Sequence[str], actual: str) -> dict[str, str] | None:
    """The placeholders' values when ``actual`` is what ``expected`` shows, else None."""
    pattern, names = expected_pattern(expected)
    text = normalise(actual)
    found = pattern.fullmatch(text + "\n" if text else "")
    if found is None:
        return None
    values: dict[str, str] = {}
    for index, name in enumerate(names, start=1):
        if found[index] is not None:
            values[name] = found[index]
    return values


def substitute(command: str, values: dict[str, str]) -> str:
    """A command with each placeholder replaced by the value it last matched."""

    def value(found: re.Match[str]) -> str:
        if found[1] not in values:
            raise ValueError(f"{command!r}: <{found[1]}> has not appeared in the output yet")
        return values[found[1]]

    return re.sub(r"<(" + "|".join(PLACEHOLDERS) + r")>", value, command)


class Mismatch(AssertionError):
    """A transcript step whose command did not print what the block shows."""


class _Shell:
    """One bash, its output (stdout and stderr together) collected as it comes, and a
    private descriptor on which it reports each command's end."""

    def __init__(self, cwd: Path) -> None:
        bin_dir = str(Path(sys.executable).parent)
        env = dict(os.environ, NO_COLOR="1", PYTHONUNBUFFERED="1", TMPDIR=str(cwd))
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        env.pop("PYTHONPATH", None)
        self._done_read, done_write = os.pipe()
        self._proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
            pass_fds=(done_write,),
        )
        os.close(done_write)
        self._done_fd = done_write  # its number in the shell, where it stays open
        self._output = b""
        self._done = b""

    @property
    def output(self) -> str:
        return self._output.decode("utf-8", errors="replace")

    def send(self, command: str) -> None:
        """Type a command; its stdin is /dev/null, so it cannot eat the commands after it."""
        assert self._proc.stdin is not None
        script = f"{{ {command}\n}} </dev/null\nprintf 'done\\n' >&{self._done_fd}\n"
        self._proc.stdin.write(script.encode())
        self._proc.stdin.flush()

    def pump(self, timeout_s: float) -> bool:
        """Collect what arrived within ``timeout_s``; True when the last command ended."""
        assert self._proc.stdout is not None
        out = self._proc.stdout.fileno()
        ready, _, _ = select.select([out, self._done_read], [], [], timeout_s)
        if out in ready:
            chunk = os.read(out, 65536)
            self._output += chunk
        if self._done_read in ready:
            self._done += os.read(self._done_read, 4096)
        if b"\n" in self._done:
            self._done = self._done.split(b"\n", 1)[1]
            return True
        return False

    def close(self) -> None:
        """Kill the shell and every process it started (its whole process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        self._proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"processes of group {self._proc.pid} outlived the block")
        assert self._proc.stdout is not None
        self._proc.stdout.close()
        os.close(self._done_read)


def _run_step(shell: _Shell, step: Step, values: dict[str, str], where: str) -> None:
    command = substitute(step.command, values)
    start = len(shell.output)
    shell.send(command)
    deadline = time.monotonic() + COMMAND_DEADLINE_S
    while not shell.pump(0.1):
        if time.monotonic() > deadline:
            raise Mismatch(f"{where}: `{command}` did not finish in {COMMAND_DEADLINE_S:.0f} s")
    deadline = time.monotonic() + MATCH_DEADLINE_S
    quiet_since = time.monotonic()
    seen = shell.output[start:]
    while True:
        shell.pump(0.05)
        now = time.monotonic()
        actual = shell.output[start:]
        if actual != seen:
            seen, quiet_since = actual, now
        found = match_output(step.expected, actual)
        if found is not None and now - quiet_since >= QUIET_S:
            values.update(found)
            return
        if now > deadline:
            first = _first_difference(step.expected, actual)
            diff = difflib.unified_diff(
                list(step.expected),
                normalise(actual).split("\n"),
                "shown",
                "printed",
                lineterm="",
            )
            raise Mismatch(
                f"{where}: `{command}` printed what the block does not show{first}"
                " (placeholders and ... are shown unexpanded):\n" + "\n".join(diff)
            )


def first_difference(expected: Sequence[str], actual: str) -> str | None:
    """The first line, up to the first elided lines, that the printed output does not
    match, as a sentence; None when there is none that far."""
    printed = normalise(actual).split("\n")
    for index, line in enumerate(normalise("\n".join(expected)).split("\n")):
        if line.strip() in _ELISION_LINES:
            return None
        got = printed[index] if index < len(printed) else None
        if got is None or (line != got and match_output([line], got) is None):
            return f"line {index + 1} shows {line!r} but printed {got!r}"
    return None


def _first_difference(expected: Sequence[str], actual: str) -> str:
    found = first_difference(expected, actual)
    return f" ({found})" if found else ""


def run_session(session: Session, *, repo: Path = REPO) -> None:
    """Run a session's commands in a fresh folder; raise Mismatch at the first difference."""
    with tempfile.TemporaryDirectory(prefix="console-") as folder:
        root = Path(folder)
        for name in ("examples", "policies"):
            shutil.copytree(
                repo / name,
                root / name,
                ignore=shutil.ignore_patterns("__pycache__", "audit.jsonl", "results"),
            )
        for path in root.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        shell = _Shell(root)
        try:
            values: dict[str, str] = {}
            for block in session.blocks:
                for step in block.steps:
                    _run_step(shell, step, values, f"{block.file}:{step.line}")
        finally:
            shell.close()


def main() -> int:
    """Run every documented session; print each outcome and the blocks not run."""
    failed = 0
    skipped: list[str] = []
    for session in documented_sessions():
        reason = session.blocks[0].not_run
        if reason is not None:
            skipped.append(f"{session.name}: {reason}")
            continue
        try:
            run_session(session)
        except Mismatch as problem:
            failed += 1
            print(f"FAIL {problem}\n")
        else:
            print(f"ok   {session.name}")
    print(f"{len(skipped)} not run:" + "".join(f"\n  {line}" for line in skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
