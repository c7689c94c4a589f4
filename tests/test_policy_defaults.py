"""policy/defaults.py: the bounds agree with each other and with the sink that enforces them."""

from __future__ import annotations

import json

from safeprobe.audit.chain import MAX_RECORD_BYTES
from safeprobe.policy.defaults import (
    AUDIT_RECORD_CAP_BYTES,
    JSON_BYTES_PER_OUTPUT_BYTE,
    MAX_INCLUDED_OUTPUT_BYTES,
    RECORD_ROOM_BYTES,
)


def test_included_output_at_its_worst_fits_an_audit_record() -> None:
    """Output at its cap, every byte at its widest as JSON, plus the rest of a record, fits."""
    worst = MAX_INCLUDED_OUTPUT_BYTES * JSON_BYTES_PER_OUTPUT_BYTE + RECORD_ROOM_BYTES
    assert worst <= AUDIT_RECORD_CAP_BYTES == MAX_RECORD_BYTES


def test_no_output_byte_is_wider_as_json_than_the_cap_assumes() -> None:
    """A control byte (``\\u0001``) is the widest JSON form of one output byte: the 6 assumed.

    The sink writes JSON with ensure_ascii=False (audit/log.py), so a character of 2 to 4
    UTF-8 bytes is written as those bytes, and one-byte characters hold the worst case."""
    widest = max(len(json.dumps(chr(code), ensure_ascii=False).encode()) - 2 for code in range(128))
    assert widest == JSON_BYTES_PER_OUTPUT_BYTE
