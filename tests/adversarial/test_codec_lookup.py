"""Technique: name a codec: every codec name is looked up through ``encodings``, which
imports a module into the host (``idna`` pulls in ``stringprep`` and ``unicodedata``), and
some codecs are slow pure-Python code (``punycode`` is quadratic: 20,000 distinct
characters take a minute in one call, past any deadline).
Source: Python docs, "codecs — Standard Encodings" (text codecs implemented in Python);
pyjail CTF writeups (``'x'.encode('rot13')`` and codec imports as an import primitive)."""

import pytest

PROBES = [
    "print('x'.encode('idna'))",
    "s = ''.join([chr(256 + i) for i in range(6000)])\nprint(len(s.encode('punycode')))",
    "print(b'x'.decode('rot13'))",
    "print(str(b'x', 'punycode'))",
    "print('x'.encode(encoding='idna'))",
    "print('x'.encode('utf-8', 'namereplace'))",
    "print(b'x'.decode('utf-8', errors='surrogateescape'))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_only_plain_codecs_are_available(attack, probe: str) -> None:
    """Naming a codec that imports a module or runs slow Python code is denied."""
    record = attack(probe)
    assert record["outcome"] == "denied", record["reason"]
