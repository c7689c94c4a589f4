"""``safeprobe run --policy POLICY -- script.py [args]``: start an unmodified program with
safeprobe installed, the way ``python -m cProfile script.py`` runs one under a profiler.

The script runs as ``__main__`` (``sys.argv``, ``sys.path[0]`` and ``__file__`` as if it
were started directly), so a policy can expose ``__main__:name``; ``-m module`` runs a
module the same way. A bare name that is no file here is looked up on ``PATH`` as a shell
would, and taken only when it is a Python script (its ``#!`` line names python): so
``safeprobe run --policy P -- gunicorn app:app`` runs gunicorn's console script. safeprobe is
installed before the program's first line, from the main thread, and uninstalled when it
ends.

Installed in this process only: a program that forks workers (gunicorn, uWSGI) has each
worker start uninstalled, its signal unblocked and its handler as before ``install()``
(trigger.py), so workers install through the server's own hook (docs/operators.md).
"""

from __future__ import annotations

import importlib.util
import os
import runpy
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from safeprobe.errors import ProgramNotFound
from safeprobe.host.trigger import install, uninstall


def check_program(name: str, *, module: bool = False) -> None:
    """ProgramNotFound unless the script is a readable file (or, with module=True, the
    module can be found as ``python -m`` would look for it). Nothing is installed or run,
    and a module's packages are imported only as ``python -m`` would import them anyway."""
    if not module:
        find_script(name)
        return
    saved = sys.path[0] if sys.path else None
    if saved is not None:
        sys.path[0] = str(Path.cwd())  # where `python -m` looks first, as run_program sets
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        found = None
    finally:
        if saved is not None:
            sys.path[0] = saved
    if found is None:
        raise ProgramNotFound(name, "no such module")


def find_script(name: str) -> str:
    """The script ``safeprobe run -- NAME`` runs: NAME when it is a file, else for a bare
    name the Python script PATH finds (``shutil.which``); ProgramNotFound otherwise."""
    if Path(name).is_file():
        return name
    found = shutil.which(name) if os.sep not in name else None
    if found is None:
        raise ProgramNotFound(name, "no such script")
    try:
        with Path(found).open("rb") as stream:
            first = stream.readline(256)
    except OSError as exc:
        raise ProgramNotFound(found, exc.strerror or "cannot be read") from None
    if not (first.startswith(b"#!") and b"python" in first):
        raise ProgramNotFound(found, "not a Python script (no #! line naming python)")
    return found


def run_program(policy: str, target: Sequence[str], *, module: bool = False) -> None:
    """Install safeprobe for policy, then run target (a script and its arguments, or with
    module=True a module name and its arguments) as __main__. Raises ProgramNotFound and what
    install raises (PolicyError, AuditError) before the program starts; SystemExit as the
    program does."""
    if not target:
        raise ValueError("nothing to run")
    name, args = target[0], list(target[1:])
    check_program(name, module=module)
    if not module:
        name = find_script(name)
    install(policy, main_pending=True)
    try:
        if module:
            sys.argv = [name, *args]
            sys.path[0] = str(Path.cwd())  # as `python -m` does, wherever safeprobe lives
            runpy.run_module(name, run_name="__main__", alter_sys=True)
        else:
            script = Path(name)
            sys.argv = [name, *args]
            sys.path[0] = str(script.resolve().parent)
            runpy.run_path(name, run_name="__main__")
    finally:
        uninstall()
