"""Technique: make the stdlib's own isinstance tests run host code through an ABC. Fraction
and ChainMap are ABCs (numbers.Rational, MutableMapping); isinstance against an ABC walks
its subclasses and registry and calls each one's metaclass ``__subclasscheck__``. With a
host ``class HostFraction(Fraction, metaclass=M)`` in the process, a probe's
``isinstance(3, Fraction)`` ran M's hook, and so did the stdlib code of closed values:
``Decimal == "x"`` (_decimal.c tests the operand against numbers.Rational) and
``Fraction == 1.5`` (fractions.py) called it in the host, in isolation: thread.
Source: CPython Modules/_abc.c (_abc__abc_subclasscheck_impl, step 6: "Check if it's a
subclass of a subclass (recursive)"); PEP 3119 (__subclasshook__, __subclasscheck__)."""

from collections.abc import Callable

import pytest

from tests.harness import Host, base_policy

EXPOSE = {
    "price": {"target": "__main__:price", "allow": ["**"]},
    "third": {"target": "__main__:third", "allow": ["**"]},
}
RUNS = frozenset({"ok", "error", "denied"})

PROBES = [
    "print(isinstance(3, Fraction), isinstance(1.5, Fraction))",
    "print(isinstance(3, ChainMap), isinstance([1], (int, ChainMap)))",
    "print(price == 'x', price != 'x')",
    "print(third == 1.5, third < 'x' if False else 0)",
    "print(third + 1)",
    "print(price, third, [price, third])",
]


@pytest.mark.parametrize("probe", PROBES)
def test_abc_hooks_of_host_subclasses_never_run(held, probe: str) -> None:
    """No isinstance a probe or a closed value's code makes reaches a host ABC hook."""
    # held checks the host's digest, which counts the hook's calls: unchanged = never ran.
    held(probe, RUNS, expose=EXPOSE, script="numeric_abc_host.py")


def test_isinstance_with_stdlib_names_still_answers(
    make_host: Callable[..., Host], tmp_path
) -> None:
    """isinstance with the stdlib's names answers as plain Python does for real instances."""
    policy = base_policy(tmp_path)
    policy["expose"] = EXPOSE
    policy["isolation"] = "thread"
    host = make_host(
        "print(isinstance(3, (int, Fraction)), isinstance(True, int), isinstance(3, Decimal))",
        policy,
        script="numeric_abc_host.py",
    )
    record = host.probe()
    assert record["outcome"] == "ok", record["reason"]
    assert "\nTrue True False\n" in host.report(record["seq"])
