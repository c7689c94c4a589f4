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
import re
import runpy
import shutil
import stat
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
    name the Python script that PATH's absolute entries find (as ``shutil.which``; an empty
    or relative entry would make the answer depend on where the command is run: Go's
    ``exec.ErrDot`` for the same reason). Either way the file must be one the operator
    could have put there: a regular file (read without waiting, so a FIFO cannot hang us),
    owned by the operator or root, that no other user may write or swap (its folder is not
    writable by others, or sticky as /tmp); a file another user planted in a shared working
    directory is refused. ProgramNotFound otherwise."""
    if Path(name).is_file():
        _first_line(name)
        _check_trusted(name)
        return name
    found = None
    if os.sep not in name:
        entries = os.environ.get("PATH", os.defpath).split(os.pathsep)
        found = shutil.which(
            name, path=os.pathsep.join(e for e in entries if Path(e).is_absolute())
        )
    if found is None:
        raise ProgramNotFound(name, "no such script")
    first = _first_line(found)
    _check_trusted(found)
    if not _names_python(first):
        raise ProgramNotFound(found, "not a Python script (no #! line naming python)")
    return found


def _first_line(path: str) -> bytes:
    """The file's first line (at most 256 bytes), read from a regular file only."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise ProgramNotFound(path, exc.strerror or "cannot be read") from None
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ProgramNotFound(path, "not a regular file")
        return stream.readline(256)


def _check_trusted(path: str) -> None:
    """ProgramNotFound unless the operator or root owns the file (and whatever a symlink
    names) and no other user may write it or replace it in its folder."""
    for each in dict.fromkeys((Path(path).absolute(), Path(path).resolve())):
        try:
            st, folder = each.stat(), each.parent.stat()
        except OSError as exc:
            raise ProgramNotFound(path, exc.strerror or "cannot be read") from None
        if st.st_uid not in (0, os.geteuid()):
            raise ProgramNotFound(path, f"owned by uid {st.st_uid}, not by you or root")
        swappable = folder.st_mode & stat.S_IWOTH and not folder.st_mode & stat.S_ISVTX
        if st.st_mode & stat.S_IWOTH or swappable:
            raise ProgramNotFound(path, "others may write it (or its folder); not run")


_INTERPRETER = re.compile(rb"(?:python|pypy)[0-9.]*")


def _names_python(first: bytes) -> bool:
    """Whether a #! line's interpreter is python: the program it names, or the program
    ``env`` runs (after env's options and VAR=value words). Pure."""
    if not first.startswith(b"#!"):
        return False
    words = first[2:].split()
    if words and words[0].rsplit(b"/", 1)[-1] == b"env":
        words = [w for w in words[1:] if not w.startswith(b"-") and b"=" not in w]
    return bool(words) and _INTERPRETER.fullmatch(words[0].rsplit(b"/", 1)[-1]) is not None


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
