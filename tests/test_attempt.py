"""attempt.py: the shared vocabulary's name lists are consistent with what they describe."""

from __future__ import annotations

import builtins

from safeprobe.attempt import PROBE_BUILTINS, PROBE_NAMES, PROBE_REFUSED_BUILTINS
from safeprobe.probe.compiler import BUILTIN_HINTS


def test_probe_names_are_the_builtins_the_refused_ones_print_and_execute() -> None:
    """PROBE_NAMES is the union of its parts, and no name is both given and refused."""
    assert not PROBE_BUILTINS & PROBE_REFUSED_BUILTINS
    assert PROBE_BUILTINS | PROBE_REFUSED_BUILTINS | {"print", "execute"} == PROBE_NAMES


def test_every_refused_name_is_a_python_builtin() -> None:
    """A refused name is one a probe author could expect from Python (a real builtin)."""
    missing = {name for name in PROBE_REFUSED_BUILTINS if not hasattr(builtins, name)}
    assert not missing, sorted(missing)


def test_every_builtin_the_compiler_explains_is_refused() -> None:
    """Each builtin the probe is told to do without (compiler.BUILTIN_HINTS) is a refused name."""
    assert set(BUILTIN_HINTS) <= PROBE_REFUSED_BUILTINS
