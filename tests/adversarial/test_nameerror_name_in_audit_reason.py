"""Technique: write into the audit record's ``reason`` through ``NameError.name``. The runner
classifies a ``NameError`` as "name not exposed" and puts ``repr(exc.name)`` into the reason,
but a probe can raise ``NameError(name=anything)``: the repr of a probe function shows its
address, a view renders host data into the log (the design says reasons name the rule,
never the value), a 200 KB name lands in the log uncapped, a list whose repr is over the
16 MiB record cap makes the audit write fail so the attempt is never recorded, and a
deeply nested list makes the repr raise inside the runner (internal error, no record).
Source: RestrictedPython CVE-2024-47532 (exception attributes carrying objects out:
AttributeError.obj / .name); log-injection via exception messages (OWASP "Log Injection")."""

from tests.adversarial.conftest import ADDRESS, audit_json

ALLOWED = frozenset({"denied", "error"})


def test_name_repr_shows_no_address(attack) -> None:
    record = attack("raise NameError(name=(lambda: 0))", ALLOWED)
    assert not ADDRESS.search(audit_json(record)), record["reason"]


def test_host_data_is_not_rendered_into_the_reason(attack) -> None:
    record = attack("raise NameError(name=my_object.data)", ALLOWED)
    assert "aaa" not in record["reason"], record["reason"]


def test_reason_size_is_bounded(attack) -> None:
    record = attack("raise NameError(name='A' * 200000)", ALLOWED)
    assert len(str(record["reason"])) < 4096, len(str(record["reason"]))


def test_oversized_reason_still_gets_an_audit_record(attack) -> None:
    # repr() of this list is ~20 MB, over audit.MAX_RECORD_BYTES.
    attack("raise NameError(name=['A' * 1000] * 20000)", ALLOWED)


def test_unrepresentable_name_still_gets_an_audit_record(attack) -> None:
    attack("x = []\nfor i in range(5000):\n    x = [x]\nraise NameError(name=x)", ALLOWED)
