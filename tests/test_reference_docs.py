"""docs/reference.md is generated from the code (scripts/reference.py) and must be current:
a policy field, a probe builtin, a record field or a command added without regenerating it
fails here (and so in CI)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_reference_doc_is_what_the_code_generates() -> None:
    """The checked-in reference equals a fresh generation from the code."""
    spec = importlib.util.spec_from_file_location("reference", REPO / "scripts" / "reference.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.render()
    assert (REPO / "docs" / "reference.md").read_text(encoding="utf-8") == fresh, (
        "docs/reference.md is stale: run python scripts/reference.py"
    )


def test_every_policy_field_is_explained_in_the_policy_doc() -> None:
    """Each field the reference lists has a row in docs/policy.md's hand-written table
    (the reference says what exists; policy.md says what it means)."""
    spec = importlib.util.spec_from_file_location("reference", REPO / "scripts" / "reference.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (REPO / "docs" / "policy.md").read_text(encoding="utf-8")
    # A section's own row says nothing its fields do not; a named entry's fields are
    # explained on its row (`probes.<name>`).
    fields = [p for p, kind, *_ in module.policy_rows() if kind not in ("section", "mapping")]
    missing = [
        p for p in fields if f"`{p}`" not in text and f"`{p.rpartition('.')[0]}`" not in text
    ]
    assert not missing, missing


def test_the_audit_doc_names_every_top_level_record_field() -> None:
    """docs/audit.md's description of a record names each field AuditRecord writes (the
    generated table in reference.md has them all, with their sub-fields)."""
    from safeprobe.audit.record import FIELD_DOCS  # noqa: PLC0415

    text = (REPO / "docs" / "audit.md").read_text(encoding="utf-8")
    top = [name for name, _ in FIELD_DOCS if "." not in name]
    assert [name for name in top if f"`{name}`" not in text] == []
