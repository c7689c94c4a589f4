"""Whether isinstance tests against the numeric ABCs run only the standard library's code.

Promise: ``numeric_abcs_plain`` answers True only while every class an isinstance test
against ``numbers.Number`` and the ABCs below it can consult (each ABC's subclasses and
registry, recursively) keeps the stdlib's hooks (ABCMeta's or type's ``__subclasscheck__``
and ``__instancecheck__``, no ``__subclasshook__`` of its own); it reads them through C
slots, so no host code runs. values.py lets a Fraction or Decimal be closed only then.
Threat model: SECURITY.md, "Stdlib values".
"""

from __future__ import annotations

import abc
import numbers
import types
from typing import Final

from safeprobe.probe.slots import TYPE_DICT, TYPE_MRO

# Fraction's own code and Decimal's C code test their other operand with isinstance(x,
# numbers.Rational) (fractions.py: _operator_fallbacks, _richcmp; _decimal.c:
# convert_op_cmp), even ``Decimal(1) == "x"``. An ABC answers by walking its subclasses and
# registry and asking each ABC among them: a host ``class F(Fraction, metaclass=M)`` whose
# M.__subclasscheck__ (or whose own __subclasshook__) is host code would run there. So a
# Fraction or Decimal is closed only while every class that walk can reach keeps the
# stdlib's hooks; a host that adds such a class makes them views.
_ABC_HOOKS: Final = {
    name: (abc.ABCMeta.__dict__[name], type.__dict__[name])
    for name in ("__subclasscheck__", "__instancecheck__")
}
_STDLIB_SUBCLASSHOOK: Final = object.__dict__["__subclasshook__"]
_TYPE_SUBCLASSES: Final = type.__dict__["__subclasses__"]
_MAX_NUMERIC_CLASSES: Final = 4096


# The answer for this attempt, with the ABC cache token it was found under (register()
# changes the token): the walk takes ~60 us, too long to repeat for each Decimal a
# probe meets. Cleared as each attempt starts (forget_numeric_check), so a class the host
# made since is seen.
_NUMERIC_CHECK: dict[str, int] = {}


def forget_numeric_check() -> None:
    """Make the next Fraction or Decimal walk the numeric ABCs again (one attempt starts)."""
    _NUMERIC_CHECK.clear()


def numeric_abcs_plain() -> bool:
    """Whether an isinstance test against ``numbers.Number`` and the ABCs below it runs only
    the stdlib's code: every class the test can consult (each ABC's subclasses and
    registry, recursively) has a metaclass with ABCMeta's or type's hooks, and no ABC among
    them has its own ``__subclasshook__``. Read through C slots, nothing host runs."""
    token: int = abc.get_cache_token()  # type: ignore[assignment]  # an int in CPython
    if _NUMERIC_CHECK.get("token") == token:
        return _NUMERIC_CHECK["plain"] == 1
    plain = _numeric_walk()
    _NUMERIC_CHECK.update(token=token, plain=int(plain))
    return plain


def _numeric_walk() -> bool:
    stack: list[type] = [numbers.Number]
    seen: set[int] = set()
    while stack:
        klass = stack.pop()
        if id(klass) in seen:
            continue
        seen.add(id(klass))
        if len(seen) > _MAX_NUMERIC_CLASSES:
            return False
        meta = type(klass)
        for name, stdlib in _ABC_HOOKS.items():
            if _static(meta, name) not in stdlib:
                return False
        if not any(base is abc.ABCMeta for base in TYPE_MRO.__get__(meta)):
            continue  # type's test: the MRO only, no walk, no hook
        if _static(klass, "__subclasshook__") is not _STDLIB_SUBCLASSHOOK:
            hook = _static(klass, "__subclasshook__")
            if not _is_numbers_hook(hook):
                return False
        stack.extend(_TYPE_SUBCLASSES(klass))
        registry = abc._get_dump(klass)[0]  # type: ignore[attr-defined]  # C: weak refs
        stack.extend(ref() for ref in list(registry) if ref() is not None)
    return True


def _static(kind: type, name: str) -> object:
    """``name`` as ``kind``'s MRO dicts hold it (no descriptor, no metaclass code runs)."""
    for klass in TYPE_MRO.__get__(kind):
        found = TYPE_DICT.__get__(klass).get(name)
        if found is not None:
            return found
    return None


def _is_numbers_hook(hook: object) -> bool:
    # A classmethod of the stdlib's numbers.py or abc.py (none today; kept for new CPythons).
    if type(hook) is classmethod:
        hook = hook.__func__
    if type(hook) is not types.FunctionType:
        return False
    code = types.FunctionType.__dict__["__code__"].__get__(hook)
    return code.co_filename in (numbers.__file__, abc.__file__)
