"""Technique: make safeprobe's own type tests run host code, and hide secrets under keys
that are not plain str. ``type(x) in {int, str, ...}`` hashes ``type(x)``, and tuple/dict
membership compares with ``==``: a host class whose metaclass defines ``__hash__`` or
``__eq__`` runs host code during a mere read. Secrets under ``b"password"`` or a
``StrEnum`` key must be redacted like ``"password"``.
Source: the adversarial review of this project (metaclass hooks reached through type
tests); Python data model, "Metaclasses" (``__hash__``/``__eq__`` on type objects)."""

import pytest

PROBES = [
    "x = service.weird\nprint(x)",
    "print(service.weird.value)",
    "print(service)",
    "print(service.keyed)",
    "print(service.keyed[b'password'])",
    "for k, v in service.keyed.items():\n    print(k, v)",
    "print(list(service.keyed.values()))",
    "print(f'{service.keyed!r}')",
]


@pytest.mark.parametrize("probe", PROBES)
def test_reads_run_no_host_code_and_hide_non_str_secret_keys(attack, probe: str) -> None:
    """Harmless: the host's metaclass counter (in the digest) is unchanged and no canary
    comes out, whatever the key's type."""
    record = attack(probe, frozenset({"ok", "error", "denied"}))
    assert record["outcome"] == "ok", record["reason"]
