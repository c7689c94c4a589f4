"""Measure deadline overshoot (thread and fork isolation) and the cost of a fork-mode attempt
for hosts of about 100 MB and 1 GB RSS.

Usage: python benchmarks/limits_bench.py [--quick] [--json OUT]

Every figure is measured in this process, through safeprobe.run_probe, against a policy in a
temporary folder. Overshoot is an attempt's duration minus its timeout for `while True: pass`
(so it includes the attempt's own fixed costs); fork cost is the duration of a trivial probe.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

import safeprobe

TIMEOUT_MS = 100


def _policy(folder: Path, probe: str, *, isolation: str, timeout_ms: int) -> Path:
    (folder / "probe.py").write_text(probe)
    (folder / "probe.py").chmod(0o644)
    path = folder / f"policy-{isolation}-{timeout_ms}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "probe": {"path": "probe.py"},
                "isolation": isolation,
                "limits": {"timeout": f"{timeout_ms}ms", "max_steps": 10**12},
                "audit": {"path": "audit.jsonl", "fsync": False},
            }
        )
    )
    return path


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "p50": round(statistics.median(ordered), 3),
        "p99": round(p99, 3),
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
        "n": len(ordered),
    }


def overshoot(folder: Path, isolation: str, runs: int) -> dict[str, float]:
    policy = _policy(folder, "while True:\n    pass\n", isolation=isolation, timeout_ms=TIMEOUT_MS)
    values = []
    for _ in range(runs):
        attempt = safeprobe.run_probe(policy)
        assert attempt.outcome == "timeout", attempt.reason
        values.append(attempt.duration_ms - TIMEOUT_MS)
    return _quantiles(values)


def attempt_cost(folder: Path, isolation: str, runs: int) -> dict[str, float]:
    policy = _policy(folder, "print(1)\n", isolation=isolation, timeout_ms=5000)
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        attempt = safeprobe.run_probe(policy)
        values.append((time.perf_counter() - started) * 1000)
        assert attempt.outcome == "ok", attempt.reason
    return _quantiles(values)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few runs, small hosts (for CI)")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    runs = 5 if args.quick else 50
    sizes_mb = (20, 40) if args.quick else (100, 1000)
    figures: dict[str, object] = {}
    sys.stderr = open("/dev/null", "w")  # noqa: SIM115, PTH123 - silence the framed reports
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        figures["overshoot_ms_thread"] = overshoot(folder, "thread", runs)
        figures["overshoot_ms_fork"] = overshoot(folder, "fork", runs)
        ballast = bytearray()
        for size in sizes_mb:
            ballast = bytearray(size * 1024 * 1024)
            for offset in range(0, len(ballast), 4096):
                ballast[offset] = 1  # touch every page so it is resident
            rss = round(_rss_mb())
            figures[f"attempt_ms_thread_rss{rss}MB"] = attempt_cost(folder, "thread", runs)
            figures[f"attempt_ms_fork_rss{rss}MB"] = attempt_cost(folder, "fork", runs)
        del ballast
    for name, value in figures.items():
        print(f"{name:32} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
