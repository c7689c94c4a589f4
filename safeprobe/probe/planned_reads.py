"""The probe's ``_getattr_``: the sandbox's attribute guard with its fast paths in front.

Promise: a read answered here is the one the guard behind it would give. A plain host
object's attribute is answered only through the read plan its (path, name, exact type)
made at an earlier read in this attempt (view_context.ReadPlan: allowed, its redaction
known, the class side leaving the answer to the instance): the value is then read live,
through the class's C ``__dict__`` getter or a slot's, from an instance dict only when no
host key can compare with the name (host_keys.KeyMemo.name_get). A method of the
probe's own value is answered as the guard answers it, from the guard's own table.
Anything else goes to the guard. Threat model: SECURITY.md, "No host code runs".
"""

from __future__ import annotations

from collections.abc import Callable

from safeprobe.probe.host_keys import NOT_FOUND
from safeprobe.probe.redaction import REDACTED
from safeprobe.probe.views import View, wrap


def planned_getattr(
    guard: Callable[[object, str], object], plain_reads: dict[int, frozenset[str]]
) -> Callable[[object, str], object]:
    """The probe's ``_getattr_``: ``guard`` (the sandbox's attribute guard, which reads a
    view's attribute through ``View.sp_getattr``), with two fast paths in front of it, in
    the same Python frame. A plain object's attribute whose (path, name, exact type) a read
    in this attempt has planned already (ReadPlan: allowed, its redaction known, the class
    side found to leave the answer to the instance): what is left is the value itself,
    read live through the planned C getter, in an instance dict only when no host key can
    compare with the name (KeyMemo.name_get). And a method of the probe's own value that
    the guard would hand out as Python's getattr does: ``plain_reads``, the guard's table of
    those names by exact type id (sandbox._PLAIN_READS). Anything else goes to ``guard``."""

    def _getattr_(obj: object, name: str) -> object:
        if type(obj) is not View:
            plain = plain_reads.get(id(type(obj)))
            if plain is not None and type(name) is str and name in plain:
                return getattr(obj, name)  # list.append, str.lower …: nothing to bound
        elif type(name) is str:
            ctx, path, host = obj.sp_ctx, obj.sp_path, obj.sp_obj
            # The name's latest plan first (a name is mostly read at one path), then the
            # plan of this very path.
            plan = ctx.latest.get(name)
            if plan is None or plan.path is not path:
                plan = ctx.reads.get((id(path), name))
            if plan is not None and plan.path is path and plan.kind is type(host):
                found: object = NOT_FOUND
                if plan.dict_get is not None:
                    instance = plan.dict_get(host, plan.kind)
                    if type(instance) is dict:
                        last = ctx.keys.last_plain
                        found = (
                            instance.get(name, NOT_FOUND)  # the memo's hit, inline
                            if last[0] is instance and last[1] == len(instance)
                            else ctx.keys.name_get(instance, name)
                        )
                elif plan.slot_get is not None:
                    found = plan.slot_get(host, plan.kind)
                if found is not NOT_FOUND:
                    if plan.hidden:
                        return REDACTED
                    kind = type(found)
                    if kind is int or kind is str or kind is float or kind is bool:
                        return found
                    return wrap(found, plan.child, ctx)
        return guard(obj, name)

    return _getattr_
