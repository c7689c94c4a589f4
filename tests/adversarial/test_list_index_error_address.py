"""Technique: make a C method put ``repr()`` of a probe value into its error message.
CPython 3.11's ``list.index`` raises ``ValueError("%R is not in list")``: the value's own
``__repr__`` runs in C, outside the sandbox's renderer, so a function, a builtin wrapper,
a bound sandbox method or a lazy iterator shows its memory address
(``<function sorted at 0x7f…>``, ``<map object at 0x7f…>``). ``to_text`` prints the
message as it is; ``_plain_message`` only rewrites internal names. Addresses defeat ASLR.
Source: CPython Objects/listobject.c ``list_index_impl``; Ned Batchelder, "Eval really is
dangerous" (2012); pyjail CTF writeups (leaking addresses through repr)."""

import pytest

from tests.adversarial.conftest import ADDRESS

PROBES = [
    "try:\n    [].index(sorted)\nexcept ValueError as e:\n    print(e)",
    "try:\n    [1].index(lambda: 0)\nexcept ValueError as e:\n    print(e)",
    "try:\n    [1].index(map(abs, []))\nexcept ValueError as e:\n    print(repr(e))",
    "try:\n    [1].index(''.join)\nexcept ValueError as e:\n    print(f'{e}')",
    "[].index(str)",
]


@pytest.mark.parametrize("probe", PROBES)
def test_error_messages_show_no_address(attack, probe: str) -> None:
    record = attack(probe, frozenset({"ok", "denied", "error"}))
    assert not ADDRESS.search(record["_report"]), record["_report"]
    assert not ADDRESS.search(str(record.get("reason"))), record["reason"]
