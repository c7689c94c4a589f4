"""Every console block of README.md and docs/*.md, run as typed, prints what it shows
(the convention: tests/console_blocks.py). One test per block, named by file:line."""

from __future__ import annotations

import pytest

from tests.console_blocks import Session, documented_sessions, run_session

SESSIONS = documented_sessions()


@pytest.mark.parametrize("session", SESSIONS, ids=[s.name for s in SESSIONS])
def test_the_console_block_prints_what_it_shows(session: Session) -> None:
    """The block's commands, run in a fresh copy of the examples, print its transcript."""
    reason = session.blocks[0].not_run
    if reason is not None:
        pytest.skip(f"not run: {reason}")
    run_session(session)
