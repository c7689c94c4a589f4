"""Hypothesis strategies: nested host objects, policies, probes."""

from __future__ import annotations

import collections

from hypothesis import strategies as st

from safeprobe.policy.defaults import MAX_INCLUDED_OUTPUT_BYTES
from safeprobe.policy.units import parse_size

_KEYS = st.one_of(
    st.text(min_size=0, max_size=8),
    st.integers(-5, 5),
    st.sampled_from(["password", "api_key", "Session-Token", "name", "data"]),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.binary(max_size=10),
)


def host_values() -> st.SearchStrategy[object]:
    """Nested builtin containers as a host might hold them: dicts, lists, tuples, sets, deques."""
    return st.recursive(
        _SCALARS,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.tuples(children, children),
            st.dictionaries(_KEYS, children, max_size=5),
            st.lists(children, max_size=4).map(collections.deque),
            st.frozensets(st.integers(-3, 3), max_size=4),
            st.sets(st.text(max_size=3), max_size=4),
        ),
        max_leaves=20,
    )


# -- policies ---------------------------------------------------------------------------------
# Valid version-1 policies as a user writes them in YAML (the documented key names), for
# tests/test_policy.py. Generated names carry a prefix letter (x, v, m) that no Python
# keyword or probe builtin starts with, so every one is a legal exposure or attribute.

_ATTRIBUTES = st.from_regex(r"v[a-z0-9_]{0,6}", fullmatch=True)
_FILES = st.from_regex(
    r"(\.\./|/srv/)?[a-z]{1,8}(/[a-z0-9_]{1,8}){0,2}\.(py|jsonl|key)", fullmatch=True
)


def _durations(*, min_ms: int, max_ms: int) -> st.SearchStrategy[object]:
    """A duration as a user may write it: with a unit, or a number of seconds."""
    return st.one_of(
        st.integers(min_ms, max_ms).map(lambda ms: f"{ms}ms"),
        st.integers(max(min_ms // 1000, 1), max_ms // 1000).map(lambda s: f"{s}s"),
        st.integers(max(min_ms, 1), max_ms).map(lambda ms: f"{ms / 1000}s"),
        st.floats(min_value=max(min_ms, 1) / 1000, max_value=max_ms / 1000),
    )


def _sizes(*, max_bytes: int) -> st.SearchStrategy[object]:
    """A size as a user may write it: with a unit, or a number of bytes."""
    return st.one_of(
        st.integers(1, max_bytes),
        st.integers(1, max_bytes).map(lambda n: f"{n}B"),
        st.integers(1, max_bytes // 1024).map(lambda n: f"{n}KiB"),
        st.integers(1, max_bytes // 1000**2).map(lambda n: f"{n}MB"),
    )


def _exposures() -> st.SearchStrategy[dict[str, object]]:
    dotted = st.lists(_ATTRIBUTES, min_size=1, max_size=3).map(".".join)
    module = st.one_of(
        st.just("__main__"),
        st.lists(st.from_regex(r"m[a-z0-9]{0,5}", fullmatch=True), min_size=1, max_size=3).map(
            ".".join
        ),
    )
    pattern = st.lists(
        st.one_of(_ATTRIBUTES, st.sampled_from(["*", "**"])), min_size=1, max_size=3
    ).map(".".join)
    return st.fixed_dictionaries(
        {"target": st.builds(lambda m, a: f"{m}:{a}", module, dotted)},
        optional={"allow": st.lists(pattern, max_size=4)},
    )


def policy_dicts() -> st.SearchStrategy[dict[str, object]]:
    """Valid version-1 policies as mappings of the YAML keys a user writes."""
    printable = st.characters(exclude_categories=("C", "Z")) | st.just(" ")
    trigger = st.fixed_dictionaries(
        {},
        optional={
            "signal": st.sampled_from(["SIGQUIT", "QUIT", "sigusr1", "USR2", "SIGHUP", 3]),
            "cooldown": st.one_of(st.just("0s"), _durations(min_ms=0, max_ms=3_600_000)),
            "allowed_uids": st.none() | st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=3),
            "mode": st.sampled_from(["listener", "handler"]),
        },
    ).filter(
        # A handler cannot see the sender, so the policy refuses allowed_uids with it.
        lambda t: not (t.get("mode") == "handler" and t.get("allowed_uids") is not None)
    )
    probe = st.fixed_dictionaries(
        {"path": _FILES},
        optional={
            "owners": st.lists(
                st.sampled_from(["root", "current", "nobody", "www-data", "1000"]),
                min_size=1,
                max_size=3,
            ),
            "sha256": st.lists(
                st.text(alphabet="0123456789abcdefABCDEF", min_size=64, max_size=64), max_size=2
            ),
            "max_size": _sizes(max_bytes=16 * 1024 * 1024),
        },
    )
    limits = st.fixed_dictionaries(
        {},
        optional={
            "timeout": _durations(min_ms=1, max_ms=60_000),
            "max_steps": st.integers(1, 10**9),
            "max_output": _sizes(max_bytes=16 * 1024 * 1024),
            "max_items": st.integers(1, 10**7),
            "max_depth": st.integers(1, 20),
            "max_repr_items": st.integers(1, 10_000),
            "max_str_chars": st.integers(16, 100_000),
            "max_memory": st.integers(16 * 1024 * 1024, 2**34),
        },
    )
    audit = st.fixed_dictionaries(
        {},
        optional={
            "path": _FILES,
            "hmac_key_file": st.none() | _FILES,
            "include_output": st.booleans(),
            "fsync": st.booleans(),
            "syslog": st.none()
            | st.fixed_dictionaries(
                {},
                optional={
                    "address": st.sampled_from(["/dev/log", "udp://127.0.0.1:514", "tcp://h:601"]),
                    "facility": st.sampled_from(["auth", "authpriv", "local7"]),
                    "required": st.booleans(),
                    "timeout": st.sampled_from(["100ms", "1s", 2]),
                },
            ),
        },
    )
    return st.fixed_dictionaries(
        {"version": st.just(1), "probe": probe},
        optional={
            "name": st.text(printable, max_size=20),
            "trigger": trigger,
            "expose": st.dictionaries(
                st.from_regex(r"x[a-z0-9_]{0,8}", fullmatch=True), _exposures(), max_size=3
            ),
            "redact": st.lists(st.text(printable, min_size=1, max_size=12), max_size=3),
            "facts": st.lists(
                st.sampled_from(["threads", "process", "gc", "asyncio"]), unique=True, max_size=4
            ),
            "isolation": st.sampled_from(["thread", "fork"]),
            "output": st.sampled_from(["stderr", "file"]),
            "output_dir": _FILES,
            "limits": limits,
            "audit": audit,
            "probes": st.dictionaries(
                st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True).filter(
                    lambda n: n != "default"
                ),
                probe,
                max_size=3,
            ),
        },
    ).filter(_combination_allowed)


def _combination_allowed(policy: dict[str, object]) -> bool:
    return _named_probes_allowed(policy) and _included_output_fits(policy)


def _included_output_fits(policy: dict[str, object]) -> bool:
    """audit.include_output needs a max_output whose JSON fits one audit record."""
    audit, limits = policy.get("audit"), policy.get("limits")
    if not isinstance(audit, dict) or audit.get("include_output") is not True:
        return True
    size = limits.get("max_output") if isinstance(limits, dict) else None
    return size is None or parse_size(size) <= MAX_INCLUDED_OUTPUT_BYTES


def _named_probes_allowed(policy: dict[str, object]) -> bool:
    """Named probes need the listener and cannot be combined with allowed_uids."""
    trigger = policy.get("trigger")
    if not policy.get("probes") or not isinstance(trigger, dict):
        return True
    return trigger.get("mode") != "handler" and trigger.get("allowed_uids") is None
