"""Technique: read a secret through host code the policy vouches for: a property whose
own name is secret (``api_token``), a property or method whose result holds secret-named
keys, and a secret field of a model. Redaction applies by name to evaluated values as to
any read, and a secret-named entry is never run at all (its getter counts in shared
memory if it runs).
Source: OWASP Logging Cheat Sheet (never log secrets; redact by field name)."""

from __future__ import annotations

EXPOSE = {
    "ledger": {
        "target": "__main__:ledger",
        "allow": ["api_token", "account", "stats", "stats.*"],
        "evaluate": ["api_token", "account", "stats.snapshot()"],
    }
}

# The property named is itself secret-named.
SECRET_PROPERTY = "print(ledger.api_token)\nprint(f'{ledger.api_token}')\n"
# A result whose keys are secret, read every way: whole, by key, by iteration, by items().
SECRET_KEYS = (
    "c = ledger.account\n"
    "print(c)\n"
    "print(c['password'], c.get('password'), [c[k] for k in c], list(c.items()))\n"
    "s = ledger.stats.snapshot()\n"
    "print(s, s['api_token'], dict(s), sorted(s.values(), key=str))\n"
)


def test_a_secret_named_evaluate_entry_reads_redacted_unrun(held) -> None:
    """``api_token`` named under evaluate reads as the marker; its getter never runs."""
    record = held(SECRET_PROPERTY, frozenset({"ok"}), expose=EXPOSE)
    assert record["_report"].count("<redacted>") == 2
    assert "evaluated" not in record


def test_secret_keys_of_evaluated_results_are_redacted(held) -> None:
    """An evaluated dict's secret-named values come out as the marker on every path."""
    record = held(SECRET_KEYS, frozenset({"ok"}), expose=EXPOSE)
    assert "'user': 'ada'" in record["_report"]
    assert record["evaluated"] == {"ledger.account": 1, "ledger.stats.snapshot()": 1}
