"""Foreign handlers: a handler for the trigger signal that safeprobe did not install.

Promise: such a handler is refused at install() by default, never silently replaced: a
Python one unless the policy says ``trigger.foreign_handler: chain`` (then it keeps running
after safeprobe's request, in the main thread), and always one set outside the ``signal``
module (``faulthandler.register`` or a C extension, which only /proc's SigCgt shows),
which safeprobe could neither chain to nor restore. A handler the host sets *after*
``install()`` cannot be refused; it never runs while safeprobe listens (the signal stays
blocked and the listener takes it), so the listener says so once on stderr
(``late_handler_warning``). Threat model: SECURITY.md, "Foreign handlers".
"""

from __future__ import annotations

import functools
import signal
import types
from collections.abc import Callable
from pathlib import Path
from typing import Final

from safeprobe.errors import InstallError


def foreign_handler(
    signum: int, previous: object, policy_choice: str
) -> Callable[[int, object], object] | None:
    """Refuse (InstallError) a handler safeprobe did not install, or return the Python one
    to chain to; None when there is none."""
    name = signal.Signals(signum).name
    if callable(previous) and previous is not signal.default_int_handler:
        if policy_choice == "chain":
            return previous
        raise InstallError(
            f"{name} already has a Python handler ({describe_handler(previous)}); "
            "safeprobe would replace it: remove it, or set trigger.foreign_handler: chain"
        )
    # getsignal answers None for a handler Python did not install, and SIG_DFL for one
    # installed after Python started (faulthandler.register calls sigaction itself).
    if previous is None or (previous in (signal.SIG_DFL, signal.SIG_IGN) and _os_catches(signum)):
        raise InstallError(
            f"{name} has a handler installed outside the signal module (faulthandler."
            "register or a C extension; /proc/self/status SigCgt): safeprobe cannot "
            "chain to it or restore it; remove it, or use another trigger.signal"
        )
    return None


def outside_handler(signum: int, previous: object) -> str | None:
    """What handles ``signum`` already, when something does (a Python handler, or one set
    outside the signal module); None when nothing does. For a signal safeprobe adds to a
    host without replacing anyone (the stuck-host dump, stack_dump.py)."""
    if callable(previous) and previous is not signal.default_int_handler:
        return f"a Python handler ({describe_handler(previous)})"
    if previous is None or (previous in (signal.SIG_DFL, signal.SIG_IGN) and _os_catches(signum)):
        return "a handler set outside the signal module (faulthandler.register or a C extension)"
    if previous is signal.SIG_IGN:
        return "SIG_IGN (the host ignores it)"
    return None


def late_handler_warning(signum: int, current: object) -> str:
    """The line the listener writes, once, when the signal it takes has a handler the host
    set after ``install()`` (gunicorn's master sets one for every signal a policy may name):
    that handler never runs, and the host's author should know. Pure."""
    name = signal.Signals(signum).name
    if current is signal.SIG_DFL:
        what = "the default action (SIG_DFL)"
    elif current is signal.SIG_IGN:
        what = "SIG_IGN"
    elif current is None:
        what = "a handler set outside the signal module"
    else:
        what = describe_handler(current)
    return (
        f"safeprobe: warning: {name}'s handler was replaced after install() by {what}; "
        f"safeprobe's listener still takes {name}, so that handler never runs: give the "
        "policy a trigger.signal the host does not use\n"
    )


def describe_handler(handler: object) -> str:
    """``module.qualname`` of a handler, read without running any of the host's code: a
    plain function's (or a bound method's, a partial's) own fields, else its class's as
    ``type`` keeps them, never through ``getattr`` (a host's ``__getattr__``, a property or
    a metaclass would run in safeprobe's listener thread). Anything but a str is "?"."""
    kind = type(handler)
    if kind is types.MethodType:
        handler = handler.__func__  # type: ignore[attr-defined]
        kind = type(handler)
    if kind is functools.partial:
        return f"functools.partial of {describe_handler(handler.func)}"  # type: ignore[attr-defined]
    if kind is types.FunctionType or kind is types.BuiltinFunctionType:
        module, qualname = handler.__module__, handler.__qualname__  # type: ignore[attr-defined]
    else:
        module = _TYPE_MODULE.__get__(kind, type)
        qualname = f"{_TYPE_QUALNAME.__get__(kind, type)} instance"
    return f"{_plain(module)}.{_plain(qualname)}"


# type's own getters: they read the class's fields, never a metaclass's or a class's hooks.
_TYPE_MODULE: Final = type.__dict__["__module__"]
_TYPE_QUALNAME: Final = type.__dict__["__qualname__"]
_MAX_NAME: Final = 200


def _plain(value: object) -> str:
    if type(value) is not str:
        return "?"
    return value if len(value) <= _MAX_NAME else value[:_MAX_NAME] + "..."


def _os_catches(signum: int) -> bool:
    """Whether the kernel has a handler for ``signum`` in this process (SigCgt)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="utf-8")
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signum - 1)))
    return False
