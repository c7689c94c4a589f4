"""isolation: fork through the real path: the probe runs in a forked child of the host."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from tests.harness import Host, base_policy, rss_kib, wait_until


def _fork_policy(tmp: Path, **limits: object) -> dict[str, object]:
    return base_policy(
        tmp, isolation="fork", limits={"timeout": "500ms", "max_output": "64KiB", **limits}
    )


def test_fork_mode_prints_the_data_and_records_the_child(make_host, tmp_path: Path) -> None:
    host: Host = make_host("print(my_object.data)\n", _fork_policy(tmp_path))
    record = host.probe()
    assert record["outcome"] == "ok", record["reason"]
    assert "{'a': 'aaa', 'b': 'bbb', 'c': 'ccc'}" in host.report(record["seq"])
    assert record["isolation"]["mode"] == "fork"
    child = record["isolation"]["child"]
    # Reaped at once, or (its result complete, its exit not yet) at the next attempt.
    assert child["status"] in ("exit 0", "exit 0 (reaped later)")
    assert child["pid"] != host.pid


@pytest.mark.parametrize(
    "probe",
    [
        "while True:\n    pass\n",
        "for _ in range(10**12):\n    pass\n",
        "while True:\n    try:\n        while True:\n            pass\n    except:\n        pass\n",
    ],
)
def test_fork_mode_stops_runaway_probes(make_host, tmp_path: Path, probe: str) -> None:
    host: Host = make_host(probe, _fork_policy(tmp_path, max_steps=10**9))
    digest = host.ask("digest")
    ticks = int(host.ask("ticks"))
    record = host.probe()
    assert record["outcome"] == "timeout", record["reason"]
    assert int(host.ask("ticks")) > ticks
    assert host.ask("digest") == digest
    assert host.alive()


def test_fork_mode_bounds_memory_in_the_child(make_host, tmp_path: Path) -> None:
    """RLIMIT_AS in the child: a structure grown step by step past limits.max_memory (here
    ~300 MB of small lists) fails in the child as `limit`; the host does not grow."""
    probe = "x = [[i] for i in range(3000000)]\nprint(len(x))\n"
    policy = _fork_policy(tmp_path, max_memory="32MiB", timeout="20s", max_steps=10**8)
    host: Host = make_host(probe, policy)
    rss_before = rss_kib(host.pid)
    record = host.probe()
    assert record["outcome"] in ("limit", "error"), record["reason"]
    assert "max_memory" in record["reason"] or "child ended" in record["reason"]
    assert "3000000" not in host.report(record["seq"])
    assert rss_kib(host.pid) - rss_before < 20 * 1024
    assert host.alive()


def test_fork_mode_output_cap_and_denials_work_as_in_thread_mode(make_host, tmp_path: Path) -> None:
    host: Host = make_host("my_object.data['a'] = 1\n", _fork_policy(tmp_path))
    record = host.probe()
    assert record["outcome"] == "denied"
    assert "read-only" in record["reason"]
    host.write_probe("while True:\n    print('y' * 100)\n")
    record = host.probe()
    assert record["outcome"] == "limit"
    assert record["output"]["truncated"] is True


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="Linux /proc only")
def test_fork_child_is_the_oom_killers_first_choice(make_host, tmp_path: Path) -> None:
    """While a probe loops in the child, the host sees the child's oom_score_adj at 1000."""
    host: Host = make_host(
        "while True:\n    pass\n", _fork_policy(tmp_path, timeout="5s", max_steps=10**9)
    )
    before = len(host.records())
    host.send()
    child = wait_until(lambda: _children(host.pid), "the forked child")
    assert isinstance(child, list)
    score = Path(f"/proc/{child[0]}/oom_score_adj")
    # The child sets it as its first step; a loaded machine may show the fork before that.
    wait_until(lambda: score.read_text().strip() == "1000", "the child's oom_score_adj of 1000")
    assert Path(f"/proc/{host.pid}/oom_score_adj").read_text().strip() != "1000"
    wait_until(lambda: len(host.records()) > before, "the attempt's record")
    assert host.records()[-1]["outcome"] == "timeout"


def test_fork_child_killed_while_compiling_says_so(make_host, tmp_path: Path) -> None:
    """The child compiles under the deadline; a timeout there names compiling."""
    probe = "x = a.b.c.d.e\n" * 350  # 4,550 nodes: under the node cap, slow to transform
    # The timeout must be longer than preparing the attempt (reading, facts, the namespace: a
    # few ms) and shorter than transforming and compiling this probe (~100 ms). On a loaded
    # machine preparing alone can pass 15 ms ("could not start"), so the test tries longer
    # timeouts in turn until one lands in compiling; every try must be a timeout.
    reasons = []
    for index, timeout in enumerate(("15ms", "30ms", "50ms", "80ms")):
        folder = tmp_path / f"try{index}"
        folder.mkdir()
        host: Host = make_host(probe, _fork_policy(folder, timeout=timeout))
        record = host.probe()
        host.stop()
        assert record["outcome"] == "timeout", record["reason"]
        reasons.append(str(record["reason"]))
        if "compiling" in reasons[-1]:
            return
        assert "could not start" in reasons[-1], reasons[-1]
    raise AssertionError(f"no try timed out while compiling: {reasons}")
