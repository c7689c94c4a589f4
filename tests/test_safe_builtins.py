"""The builtins a probe may call: exactly the documented names, bounded where one C call
could run long or build much, and type questions answered by identity."""

from __future__ import annotations

import pytest

from safeprobe.attempt import PROBE_BUILTINS
from safeprobe.errors import ProbeDenied, ProbeStopped
from safeprobe.probe.budget import Budget, OutputBuffer
from safeprobe.probe.render import RenderLimits
from safeprobe.probe.safe_builtins import MAX_ROUND_DIGITS, Builtins
from safeprobe.probe.sandbox import AttemptState, Sandbox


def _builtins() -> dict[str, object]:
    state = AttemptState(
        budget=Budget(timeout_s=5.0, max_steps=10**6, max_items=1000),
        output=OutputBuffer(1000),
        render_limits=RenderLimits(),
    )
    return Builtins(Sandbox(state)).names


def _call(name: str, *args: object) -> object:
    function = _builtins()[name]
    assert callable(function)
    return function(*args)


def test_the_names_are_the_documented_builtins() -> None:
    """attempt.PROBE_BUILTINS is the list a reviewer reads; it is what a probe gets."""
    assert set(_builtins()) - {"True", "False", "None"} == PROBE_BUILTINS


def test_wrappers_are_dressed_as_the_builtins() -> None:
    """A printed wrapper names the builtin, not the class that builds it."""
    for name in ("sorted", "pow", "list", "isinstance"):
        function = _builtins()[name]
        assert getattr(function, "__qualname__", None) == name


def test_pow_with_a_huge_modulus_is_refused_before_it_runs() -> None:
    """pow(b, e, m) is quadratic in m's digits in one C call."""
    with pytest.raises(ProbeStopped):
        _call("pow", 3, 2**40_000 - 1, 2**40_000 + 1)
    assert _call("pow", 3, 5, 7) == 5


def test_round_to_too_many_digits_is_refused() -> None:
    """round(x, -n) computes 10**n in one C call."""
    with pytest.raises(ProbeStopped):
        _call("round", 5, -(MAX_ROUND_DIGITS + 1))


def test_isinstance_refuses_a_class_it_does_not_know() -> None:
    """Any other class would hand the probe a type to walk."""

    class Other:
        pass

    with pytest.raises(ProbeDenied, match="isinstance"):
        _call("isinstance", 1, Other)


def test_isinstance_maps_the_wrappers_back_to_their_types() -> None:
    """isinstance(x, str) in a probe names our str wrapper."""
    names = _builtins()
    isinstance_ = names["isinstance"]
    assert callable(isinstance_)
    assert isinstance_("a", names["str"]) is True
    assert isinstance_(1, (names["str"], names["list"])) is False


def test_hasattr_answers_from_the_allowlist_and_records_no_refusal() -> None:
    """hasattr says what value.name would give, without a denial."""
    assert _call("hasattr", "a", "upper") is True
    assert _call("hasattr", "a", "format_map") is False
    assert _call("hasattr", "a", "__class__") is False


def test_each_attempt_gets_its_own_wrappers_and_type_tokens() -> None:
    """Builtins are made per attempt, never shared: each closes over its own sandbox, so a
    wrapper or token cached across attempts would charge and record in the wrong one."""
    first, second = _builtins(), _builtins()
    for name in ("list", "sorted", "any", "Decimal", "deque", "datetime"):
        assert first[name] is not second[name], name


def test_a_type_token_refusal_is_recorded_in_its_own_attempt() -> None:
    """Calling a non-constructor token denies through the attempt that made it."""
    states = [
        AttemptState(
            budget=Budget(timeout_s=5.0, max_steps=10**6, max_items=1000),
            output=OutputBuffer(1000),
            render_limits=RenderLimits(),
        )
        for _ in range(2)
    ]
    tokens = [Builtins(Sandbox(state)).names["deque"] for state in states]
    assert callable(tokens[1])
    with pytest.raises(ProbeDenied):
        tokens[1]()
    assert states[0].denial is None
    assert states[1].denial is not None


def test_renamed_lambdas_still_show_only_the_builtin_name() -> None:
    """A lambda builtin renamed in place prints as the builtin, not as a lambda."""
    for name in ("list", "any", "reversed", "float", "repr"):
        function = _builtins()[name]
        assert getattr(function, "__name__", None) == name
        assert "lambda" not in repr(function)
