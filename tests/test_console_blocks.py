"""The console-block runner's parser and matcher (tests/console_blocks.py): pure, no process."""

from __future__ import annotations

import pytest

from tests.console_blocks import (
    Step,
    documented_sessions,
    first_difference,
    match_output,
    parse_blocks,
    sessions,
    substitute,
)

DOC = """\
Intro.

```console
$ python app.py &
app: pid 42
$ kill -3 $!
```

<!-- console: continued -->
```console
$ safeprobe audit verify audit.jsonl \\
    --json
{"ok": true}
```

<!-- console: not run: needs a real gunicorn deployment -->
```console
$ gunicorn app:app
```

```sh
$ not a console block
```
"""


def test_blocks_are_found_with_their_fence_line_and_steps() -> None:
    """Each ```console block is found, with its line, commands and their output lines."""
    blocks = parse_blocks(DOC, file="x.md")
    assert [b.line for b in blocks] == [3, 10, 17]
    assert blocks[0].steps == (
        Step(line=4, command="python app.py &", expected=("app: pid 42",)),
        Step(line=6, command="kill -3 $!", expected=()),
    )
    assert blocks[1].steps[0].command == "safeprobe audit verify audit.jsonl \\\n    --json"
    assert blocks[1].steps[0].expected == ('{"ok": true}',)


def test_a_continued_block_joins_the_session_before_it_and_a_skip_keeps_its_reason() -> None:
    """`continued` runs a block in the previous block's shell; `not run` carries its reason."""
    grouped = sessions(parse_blocks(DOC, file="x.md"))
    assert [s.name for s in grouped] == ["x.md:3+10", "x.md:17"]
    assert grouped[1].blocks[0].not_run == "needs a real gunicorn deployment"


def test_a_block_that_does_not_start_with_a_command_is_an_error() -> None:
    """Output before the first `$ ` line is a malformed transcript, not silently ignored."""
    with pytest.raises(ValueError, match="starts with a `\\$ ` command"):
        parse_blocks("```console\nhello\n```\n", file="x.md")


def test_placeholders_match_their_kind_and_remember_their_value() -> None:
    """<pid>, <num>, <time>, <hash> match values of their kind; the last value is kept."""
    expected = ["pid <pid>, port <port>: ok in <num> ms at <time>", "head: <hash>"]
    printed = "pid 4242, port 8080: ok in 4.9 ms at 2026-11-27T05:47:15.078054Z\nhead: 5c0fab\n"
    assert match_output(expected, printed) == {"pid": "4242", "port": "8080", "num": "4.9",
                                               "time": "2026-11-27T05:47:15.078054Z",
                                               "hash": "5c0fab"}  # fmt: skip
    assert match_output(["pid <pid>"], "pid 4242x") is None
    assert match_output(["head: <hash>"], "head: not-hex") is None


def test_ellipsis_elides_text_in_a_line_and_lines_on_its_own() -> None:
    """`...`/`…` in a line is any text; alone on a line, any number of lines, even none."""
    assert match_output(["installed .../seed.yaml"], "installed /tmp/x/seed.yaml") == {}
    assert match_output(["first", "…", "last"], "first\na\nb\nlast") == {}
    assert match_output(["first", "...", "last"], "first\nlast") == {}
    assert match_output(["first", "last"], "first\nextra\nlast") is None


def test_spaces_match_any_run_of_spaces_and_trailing_blanks_are_ignored() -> None:
    """Table columns may widen; trailing spaces and blank lines do not count, words do."""
    assert match_output(["<pid>   ok  1.5"], "17190 ok    1.5   \n\n") == {"pid": "17190"}
    assert match_output(["a b"], "ab") is None
    assert match_output([], "") == {}
    assert match_output([], "something") is None


def test_a_command_uses_the_value_a_placeholder_last_matched() -> None:
    """`curl localhost:<port>` is typed with the port printed above; an unseen one fails."""
    assert substitute("curl localhost:<port>/x", {"port": "8080"}) == "curl localhost:8080/x"
    with pytest.raises(ValueError, match="<port> has not appeared"):
        substitute("curl localhost:<port>/x", {})


def test_the_repository_documents_console_blocks() -> None:
    """README.md and docs/ hold console blocks, so the e2e test has something to run."""
    names = [s.name for s in documented_sessions()]
    assert any(name.startswith("README.md:") for name in names)
    assert any(name.startswith("docs/") for name in names)


def test_a_mismatch_names_the_first_line_that_differs() -> None:
    """The failure says which shown line the output first departs from."""
    found = first_difference(["ok in <num> ms", "ok: 2 records"], "ok in 4.9 ms\nok: 3 records")
    assert found == "line 2 shows 'ok: 2 records' but printed 'ok: 3 records'"
    assert first_difference(["a", "...", "z"], "a\nb\ny") is None
