"""Policy errors carry a hint: what the operator most likely meant, or how to write it."""

from __future__ import annotations

import pytest

from safeprobe.errors import PolicyError
from safeprobe.policy.loading import parse_policy

MINIMAL = "version: 1\nprobe: {path: p.py}\n"


def _error(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, path="p.yaml")
    return info.value


@pytest.mark.parametrize(
    ("text", "field", "hint"),
    [
        (MINIMAL + "limits:\n  timeot: 1s\n", "limits.timeot", "did you mean 'timeout'?"),
        (MINIMAL + "isolation: forkk\n", "isolation", "did you mean 'fork'?"),
        (MINIMAL + "trigger: {mode: listen}\n", "trigger.mode", "did you mean 'listener'?"),
        (MINIMAL + "limits: {timeout: 500}\n", "limits.timeout", "a bare number is seconds"),
        (MINIMAL + "trigger: {cooldown: -5}\n", "trigger.cooldown", None),
        (MINIMAL + "limits: {max_steps: '10'}\n", "limits.max_steps", "without quotes"),
        (MINIMAL + "audit: {fsync: 'yes'}\n", "audit.fsync", "true or false, without quotes"),
        ("probe: {path: p.py}\n", "version", "add 'version: 1'"),
        ("version: 1\n", "probe", "add 'probe: {path: probes/NAME.py}'"),
        (MINIMAL + "expose: {x: {allow: [a]}}\n", "expose.x.target", "__main__:my_object"),
        (MINIMAL + "  bad: indent\n", "yaml", "indentation"),
    ],
)
def test_error_carries_a_hint(text: str, field: str, hint: str | None) -> None:
    """The hint sits in the one error line, after the problem it explains."""
    error = _error(text)
    assert error.field == field
    if hint is None:
        assert "bare number" not in error.problem
    else:
        assert hint in error.problem
    assert "\n" not in str(error)


def test_literal_far_from_every_value_lists_them_without_guessing() -> None:
    """No 'did you mean' when nothing is close; the allowed values are still listed."""
    error = _error(MINIMAL + "isolation: container\n")
    assert "'thread' or 'fork'" in error.problem
    assert "did you mean" not in error.problem
