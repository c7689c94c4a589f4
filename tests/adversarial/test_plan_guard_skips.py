"""Technique: reach a value through a warmed read plan (issue 16, views.planned_getattr)
that the full attribute guard would refuse or hide: a property the policy evaluates at one
path read at another path through the same name, a method beside plain fields of the same
class, a planned secret read again through an f-string or a format field, and a view's
``items()`` fast path (every key an exact str, none secret) with secret keys spelt with
separators and capitals. Each is stopped today: these keep the fast paths honest. Source:
cache-key confusion in memoised access checks (CWE-524 family), and format-string
attribute traversal (the str.format sandbox escapes: Armin Ronacher, "Be Careful with
Python's New-Style String Format", 2016).
"""

from tests.adversarial.conftest import CANARY, REFUSED

LEDGER = {
    "ledger": {
        "target": "__main__:ledger",
        "allow": ["stats", "stats.*", "children", "children.*"],
        "evaluate": ["stats.ratio"],
    }
}


def test_an_evaluated_property_plan_serves_no_other_path(held) -> None:
    """``stats.ratio`` is evaluated (planned by its first read); the same property of the
    same class at ``children`` is refused as host code."""
    probe = "for i in range(5):\n    r = ledger.stats.ratio\nprint(r)\nprint(ledger.children[0].ratio)\n"
    record = held(probe, frozenset({"denied"}), expose=LEDGER)
    assert "0.75" in str(record["_report"])
    assert "'ratio' is a property" in str(record["reason"]), record["reason"]


def test_a_method_beside_planned_fields_is_not_called(held) -> None:
    """Fields of a class read through their plans; its method (which returns a secret) is
    refused as host code."""
    probe = (
        "for i in range(5):\n    r = ledger.stats.hits\nprint(r)\n"
        "print(ledger.children[0].hits, ledger.children[1].snapshot)\n"
    )
    record = held(probe, frozenset({"denied"}), expose=LEDGER)
    assert "'snapshot' is a method" in str(record["reason"]), record["reason"]


def test_a_planned_secret_stays_hidden_in_f_strings(held) -> None:
    """A secret attribute read many times through its plan, then in an f-string: the marker."""
    probe = "s = service.settings\nfor i in range(5):\n    p = s.password\nprint(f'{s.password}|{s.name}')\n"
    record = held(probe, frozenset({"ok"}))
    assert "<redacted>|svc" in str(record["_report"]), record["_report"]


def test_format_fields_cannot_traverse_a_planned_view(held) -> None:
    """``'{0.password}'.format(view)`` after the plan is warm is refused, not read in C."""
    probe = "s = service.settings\nfor i in range(5):\n    p = s.password\nprint('{0.password}'.format(s))\n"
    record = held(probe, REFUSED)
    assert "format" in str(record["reason"]), record["reason"]


def test_items_fast_path_hides_secret_keys_however_spelt(held) -> None:
    """``items()`` of a host dict whose keys are exact str: secret ones spelt with
    separators and capitals (Session-Token, API.KEY) still show the marker, and the pairs
    printed are what plain Python prints for the rest."""
    probe = "print(sorted(spelt.items()))\n"
    expose = {"spelt": {"target": "__main__:spelt"}}
    record = held(probe, frozenset({"ok"}), expose=expose)
    report = str(record["_report"])
    assert CANARY not in report
    assert "('API.KEY', <redacted>)" in report, report
    assert "('Session-Token', <redacted>)" in report, report
    assert "('name', 'ada')" in report, report


CONTAINERS = {
    "zoo": {"target": "__main__:zoo", "allow": ["creds", "creds.*"]},
    "service": {"target": "__main__:service", "allow": ["queue", "queue.*"]},
    "stdvals": {"target": "__main__:stdvals", "allow": ["counts_low", "counts_low.*"]},
}


def test_containers_get_no_plan_that_skips_their_guards(held) -> None:
    """A named tuple's secret field read again and again by name, then by position and by
    iteration; a deque's maxlen; a Counter's items() with a secret key: container views
    make no read plan, and every answer keeps its marker."""
    probe = (
        "for i in range(5):\n    u = zoo.creds.user\n    p = zoo.creds.password\n"
        "    m = service.queue.maxlen\n"
        "print(u, p, zoo.creds[1], list(zoo.creds), m)\n"
        "print(stdvals.counts_low.items())\n"
    )
    record = held(probe, frozenset({"ok"}), expose=CONTAINERS)
    report = str(record["_report"])
    assert "ada <redacted> <redacted> ['ada', <redacted>] None" in report, report
    assert "('api_token', <redacted>)" in report, report
