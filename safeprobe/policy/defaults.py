"""The defaults and bounds of a policy's values, each with the reason for its number.

Promise: one place for every default a policy leaves out and every cap a policy may not
lift; the models (policy/models.py) and the field checks (policy/fields.py) read them
here, and so do the layers above that need the same number. Plain constants.
"""

from __future__ import annotations

from typing import Final

# DESIGN.md: one attempt at a time; a second kill -3 within a second is almost always
# an impatient repeat, not a new question.
DEFAULT_COOLDOWN_S: Final = 1.0
# DESIGN.md's example policy: a probe that reads a few attributes finishes in
# microseconds, and half a second is the longest the runner thread is lent by default.
DEFAULT_TIMEOUT_S: Final = 0.5
# The watchdog stops a probe by raising into it; a minute is past any interactive look
# and bounds how long one probe can hold the one-at-a-time slot.
MAX_TIMEOUT_S: Final = 60.0
# DESIGN.md's example policy: about a second of simple Python bytecode.
DEFAULT_MAX_STEPS: Final = 1_000_000
# An operator reads probe output in a terminal, and the audit log may hash it on each
# attempt: 64 KiB holds a thread dump of a busy service and stays cheap to hash.
DEFAULT_MAX_OUTPUT_BYTES: Final = 64 * 1024
# Output is buffered in the host's memory; 16 MiB is the most a policy may ask for.
MAX_OUTPUT_BYTES_CAP: Final = 16 * 1024 * 1024
# The audit sink refuses a record line over 16 MiB (audit.MAX_RECORD_BYTES; a test keeps the
# two equal). With audit.include_output the output is in the record as JSON text, where a
# control byte takes 6 bytes ("\u0001"); the rest of a record (argv, paths and the reason
# are each capped) fits in far less than 1 MiB. So the largest max_output whose worst case
# fits is (16 MiB - 1 MiB) / 6 = 2.5 MiB; but the host builds that line, its canonical bytes
# and its digest input in memory at once (~4 copies: measured +67 MiB of host RSS at 2.5 MiB,
# over the 64 MiB an attempt may cost), so included output is capped at 1 MiB (6 MiB of
# JSON at worst), which no operator reading a record needs more of.
AUDIT_RECORD_CAP_BYTES: Final = 16 * 1024 * 1024
JSON_BYTES_PER_OUTPUT_BYTE: Final = 6
RECORD_ROOM_BYTES: Final = 1024 * 1024
# tests/test_policy_defaults.py checks that the worst case fits the cap.
MAX_INCLUDED_OUTPUT_BYTES: Final = 1024 * 1024
# DESIGN.md's example policy: the largest container a builtin may build or walk.
DEFAULT_MAX_ITEMS: Final = 100_000
# repr() of a host object: three levels, 100 items each and 256 characters per string
# show the shape of a structure on one screen without dumping it.
DEFAULT_MAX_DEPTH: Final = 3
DEFAULT_MAX_REPR_ITEMS: Final = 100
DEFAULT_MAX_STR_CHARS: Final = 256
# isolation: fork: what a probe's child may map beyond the host's own address space. A
# probe's data is bounded by max_items and the size checks; 256 MiB covers those with room
# and keeps a runaway child far from the machine's memory.
DEFAULT_MAX_MEMORY_BYTES: Final = 256 * 1024 * 1024
# Below 16 MiB the interpreter in the child cannot even allocate its own working set.
MIN_MEMORY_BYTES: Final = 16 * 1024 * 1024
# Below 16 characters a string cannot show even a short identifier and its quotes.
MIN_STR_CHARS: Final = 16
# A probe is a short hand-written script (the examples are 15-400 bytes); 32 KiB is ~800
# lines, far beyond one. The cap also bounds ``ast.parse``, one C call no deadline can
# interrupt in isolation: thread: the densest shapes parse at ~3 ms per KiB here, so 32 KiB
# parses in ~100 ms, inside the default 500 ms timeout (probe/compiler.py bounds the rest).
# A policy that raises it lifts that bound with it.
DEFAULT_PROBE_MAX_BYTES: Final = 32 * 1024
# The probe file is read whole into the host's memory, so a policy may not lift the cap
# past 16 MiB (the same bound as output).
MAX_PROBE_BYTES_CAP: Final = 16 * 1024 * 1024
# A policy is a page of YAML; 1 MiB refuses a wrong file before PyYAML walks all of it.
MAX_POLICY_BYTES: Final = 1024 * 1024
# Names, patterns and owner names are short labels; these caps keep them readable in
# audit records and in error messages.
MAX_NAME_CHARS: Final = 100
MAX_PATTERN_CHARS: Final = 200
# Host code a policy vouches for is a short list a reviewer reads entry by entry; the cap
# also bounds the audit record's ``evaluated`` field (one entry per path run).
MAX_EVALUATE_ENTRIES: Final = 64
MAX_PATH_CHARS: Final = 4096
