"""Technique: reach an unsafe builtin by name: ``type``/``getattr``/``vars`` to climb to
classes, ``globals``/``__import__``/``open``/``eval``/``exec``/``compile`` for code and I/O,
``memoryview``/``bytearray`` for raw memory, ``iter``/``next``/``format``/``hash``/``id`` that
the sandbox leaves out, and the BaseException family that would catch the budget's stop.
Source: Ned Batchelder, "Eval really is dangerous" (2012); RestrictedPython docs,
"safe_builtins" and "Policy"; RestrictedPython 9.0 changelog (sorted, zip, tuple, bytes,
reversed dropped from safe_builtins)."""

import pytest

PROBES = [
    "print(type(1))",
    "print(getattr(service, 'expensive'))",
    "print(vars(service))",
    "print(dir(service))",
    "print(id(service))",
    "print(hash(service))",
    "print(globals())",
    "print(locals())",
    "print(open('/etc/passwd').read())",
    "compile('1', 'x', 'eval')",
    "eval('1')",
    "exec('x = 1')",
    "__import__('os').system('true')",
    "print(memoryview(b'x'))",
    "print(bytearray(10))",
    "print(next(iter([1])))",
    "print(format(service, ''))",
    "print(callable(len))",
    "print(object.__subclasses__())",
    "print(super())",
    "breakpoint()",
    "try:\n    pass\nexcept BaseException:\n    pass\nraise SystemExit(0)",
    "raise KeyboardInterrupt",
    "raise GeneratorExit",
]


@pytest.mark.parametrize("probe", PROBES)
def test_unsafe_builtins_are_not_in_the_namespace(attack, probe: str) -> None:
    """Every unsafe builtin is missing from the probe's namespace or refused by the compiler."""
    record = attack(probe)
    assert record["outcome"] in ("denied", "compile_error"), record["reason"]
