"""Built-in policy names: the ready-made policies in policies/ (shipped as safeprobe_policies).

Promise: wherever a policy path is taken, ``resolve_policy`` turns what the operator wrote
into one policy file. A path that exists wins, always, so a file of yours named ``threads``
is never shadowed; otherwise a built-in name (``threads``, ``process``, ``gc``, ``asyncio``,
``template``) names that file in the installed package; something that looks like a path
(a ``/`` or a suffix) stays a path, which the loader reports missing; any other word is a
PolicyError listing the names. A built-in's data paths (audit log, HMAC key, result files)
are resolved against the working directory at resolution time, never beside the policy
(site-packages is not the host's to write, and a shared one would mix every host's audit
trail); its probe stays beside it. Reads only the directory listing and each policy's first line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import util
from pathlib import Path
from typing import Final

from safeprobe.errors import PolicyError

BUILTIN_PACKAGE: Final = "safeprobe_policies"
# The checkout's folder, for a source tree run without installing (as the demo does).
_CHECKOUT_DIR: Final = Path(__file__).resolve().parent.parent.parent / "policies"
_SUMMARY_BYTES: Final = 200


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """One policy file, and the directory its relative data paths are resolved against
    (None: the policy file's own directory, as for any policy file)."""

    path: str
    data_dir: str | None = None


def builtin_dir() -> Path:
    """The folder of the built-in policies: the installed package, else the checkout's."""
    spec = util.find_spec(BUILTIN_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return _CHECKOUT_DIR


def builtin_policies() -> dict[str, str]:
    """Every built-in name and its one-line summary (the policy's first comment), sorted."""
    found: dict[str, str] = {}
    for path in sorted(builtin_dir().glob("*.yaml")):
        with path.open("rb") as file:
            first = file.readline(_SUMMARY_BYTES).decode("utf-8", "replace").strip()
        found[path.stem] = first.removeprefix("#").strip()
    return found


def resolve_policy(
    spec: str | os.PathLike[str], *, cwd: str | os.PathLike[str] | None = None
) -> PolicyRef:
    """What the operator wrote (a path or a built-in name) as a policy file to load.

    A path that exists wins over a name; a built-in's data paths go to ``cwd`` (default:
    the working directory now), made absolute so a later chdir cannot move them.
    """
    text = os.fspath(spec)
    if Path(text).exists():
        return PolicyRef(text)
    names = builtin_policies()
    if text in names:
        base = Path.cwd() if cwd is None else Path(cwd).absolute()
        return PolicyRef(str(builtin_dir() / f"{text}.yaml"), data_dir=str(base))
    if os.sep in text or Path(text).suffix:
        return PolicyRef(text)  # a path, missing: the loader says so, as for any file
    known = ", ".join(names)
    raise PolicyError(text, None, "file", f"no such file, and not a built-in policy name ({known})")
