"""Limits through the real path: timeouts and output caps stop the probe, the host runs on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.harness import Host, base_policy, rss_kib, wait_until


def _policy(tmp: Path, isolation: str = "thread", **limits: object) -> dict[str, object]:
    return base_policy(
        tmp, isolation=isolation, limits={"timeout": "300ms", "max_output": "64KiB", **limits}
    )


# Runaway and one-call tests run in both isolation modes: they take the ``isolation``
# fixture (tests/conftest.py).


@pytest.mark.parametrize(
    "probe",
    [
        "while True:\n    pass\n",
        "for _ in range(10**12):\n    pass\n",
        "x = [i for i in range(10**12)]\n",
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except BaseException:\n        pass\n",
        "while True:\n    try:\n        while True:\n            pass\n    except:\n        pass\n",
        "n = 0\nwhile True:\n    n += 1\n",
    ],
    ids=["while-true", "huge-range", "comprehension", "catch-base", "bare-except-retry", "counter"],
)
def test_runaway_probe_is_stopped_at_the_deadline(
    make_host, tmp_path: Path, probe: str, isolation: str
) -> None:
    """A pure-Python loop ends as `timeout` or `limit`, whatever it catches; host unchanged."""
    host: Host = make_host(probe, _policy(tmp_path, isolation, max_steps=10**9))
    digest = host.ask("digest")
    ticks_before = int(host.ask("ticks"))
    record = host.probe()
    if "[i for i" in probe and record["outcome"] == "limit":
        # The only probe here that keeps what it makes: in isolation: thread the RSS
        # backstop may stop its list (ints a step at a time) before the deadline does.
        assert "grew by more than" in record["reason"], record["reason"]
    else:
        assert record["outcome"] == "timeout", record["reason"]
        assert "limits.timeout" in record["reason"]
    assert record["duration_ms"] < 5000
    assert int(host.ask("ticks")) > ticks_before, "the host's own thread kept running"
    assert host.ask("digest") == digest
    assert host.alive()


def test_step_budget_stops_a_probe_deterministically(make_host, tmp_path: Path) -> None:
    """max_steps counts loop iterations, so the same probe stops at the same step."""
    host: Host = make_host(
        "while True:\n    pass\n", _policy(tmp_path, max_steps=5000, timeout="10s")
    )
    first, second = host.probe(), host.probe()
    assert first["outcome"] == second["outcome"] == "limit"
    assert "limits.max_steps" in first["reason"]
    assert first["steps"] == second["steps"]


def test_recursion_is_capped_below_the_host_limit(make_host, tmp_path: Path) -> None:
    host: Host = make_host("def f(n):\n    return f(n + 1)\nf(0)\n", _policy(tmp_path))
    limit = host.ask("recursionlimit")
    record = host.probe()
    assert record["outcome"] == "limit"
    assert "recursion" in record["reason"]
    assert host.ask("recursionlimit") == limit


def test_output_over_the_cap_is_cut_with_a_marker(make_host, tmp_path: Path) -> None:
    """Printing a lot stops at max_output: outcome limit, visible marker, bounded bytes."""
    host: Host = make_host(
        "while True:\n    print('x' * 1000)\n", _policy(tmp_path, max_output="4KiB")
    )
    record = host.probe()
    assert record["outcome"] == "limit"
    assert "limits.max_output" in record["reason"]
    assert record["output"]["truncated"] is True
    assert record["output"]["bytes"] <= 4096
    assert "[safeprobe: output truncated at 4096 bytes]" in host.report(record["seq"])


@pytest.mark.parametrize(
    "probe",
    [
        "x = 'a' * 10**10\n",
        "x = [0] * 10**9\n",
        "x = 10 ** 10 ** 8\n",
        "x = 1 << 10**10\n",
        "x = list(range(10**9))\n",
        "x = sorted(range(10**9))\n",
        "x = '%999999999d' % 1\n",
        "x = f'{1:>999999999}'\n",
        "x = 'ab'.center(10**10)\n",
        "s = 'x'\nwhile True:\n    s = s + s\n",
        "s = 'x'\nwhile True:\n    s += s\n",
        "x = ','.join(['a' * 1000] * 100000)\n",
        "x = pow(3, 2**40000 - 1, 2**40000 - 3)\n",
        "x = round(5, -10**7)\n",
        "x = int('f' * 1000000, 16)\n",
        "x = ('a' * 16000000).split('a')\n",
        "x = ('a ' * 8000000).split()\n",
        "s = 'x' * 10**7\nt = '%(a)s' * 1000 % {'a': s}\n",
        "s = 'x'\nwhile True:\n    s = '%s%s' % (s, s)\n",
        "s = 'x' * 10**7\nt = f'{s}{s}{s}{s}{s}{s}{s}{s}{s}{s}'\n",
        "b = b'x'\nwhile True:\n    b = b.hex().encode()\n",
        "x = ('\\u00e9' * 10**7).encode('ascii', 'backslashreplace')\n",
    ],
)
def test_one_call_allocations_are_refused_before_they_start(
    make_host, tmp_path: Path, probe: str, isolation: str
) -> None:
    """An allocation a watchdog could not interrupt is refused by a size check first; the
    host's RSS grows by less than 128 MiB (the 64 MiB attempt cap plus interpreter slack)."""
    host: Host = make_host(probe, _policy(tmp_path, isolation))
    rss_before = rss_kib(host.pid)
    record = host.probe()
    assert record["outcome"] in ("limit", "denied"), record["reason"]
    assert record["duration_ms"] < 5000
    assert host.alive()
    assert rss_kib(host.pid) - rss_before < 128 * 1024


def test_cooldown_refuses_and_audits_a_quick_second_signal(make_host, tmp_path: Path) -> None:
    """Inside the cooldown a signal is refused as rate_limited, with its own record."""
    policy = base_policy(tmp_path, trigger={"signal": "SIGQUIT", "cooldown": "60s"})
    host: Host = make_host("print('ran')\n", policy)
    first = host.probe()
    second = host.probe()
    assert first["outcome"] == "ok"
    assert second["outcome"] == "rate_limited"
    assert "trigger.cooldown" in second["reason"]
    assert host.report(second["seq"]).count("ran") == 0


def test_signal_during_a_run_is_refused_as_busy(make_host, tmp_path: Path) -> None:
    """One attempt at a time: signals while a probe runs are each audited as busy."""
    host: Host = make_host(
        "while True:\n    pass\n", _policy(tmp_path, timeout="1500ms", max_steps=10**9)
    )
    host.send()
    # Signals of one kind that are pending together merge into one, so keep sending
    # for a while; every one the listener takes during the run is refused as busy.
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        time.sleep(0.1)
        host.send()
    wait_until(lambda: len(host.records()) >= 2, "the attempt and a refusal")
    outcomes = [r["outcome"] for r in host.records()]
    assert outcomes[0] == "timeout"
    assert set(outcomes[1:]) == {"busy"}
    assert host.alive()


def test_print_of_many_large_strings_never_builds_them(make_host, tmp_path: Path) -> None:
    """print() writes piece by piece into the capped buffer: no joined giant string."""
    probe = "s = 'x' * 10**7\nprint(s, s, s, s, s, s, s, s, s, s, s, s)\n"
    host: Host = make_host(probe, _policy(tmp_path, max_output="1KiB"))
    record = host.probe()
    assert record["outcome"] == "limit"
    assert "limits.max_output" in record["reason"]
    assert record["output"]["bytes"] <= 1024


def test_a_loop_of_checked_allocations_is_bounded_in_total(make_host, tmp_path: Path) -> None:
    """Each `[0] * 100_000` passes the one-call check; together they hit the attempt's cap
    long before the deadline could stop them."""
    probe = "rows = []\nfor _ in range(100000):\n    rows.append([0] * 100000)\n"
    host: Host = make_host(probe, _policy(tmp_path, timeout="30s", max_steps=10**9))
    record = host.probe()
    assert record["outcome"] == "limit"
    # The counted total (64 MiB), or in isolation: thread the RSS backstop (32 MiB measured),
    # whichever comes first.
    reason = str(record["reason"])
    assert "in all" in reason or "grew by more than" in reason, reason
    assert host.alive()
