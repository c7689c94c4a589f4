"""What the comparison guards (safeprobe/probe/comparison.py) cost a probe loop.

Run ``python -m benchmarks.comparison_guard`` from a clone (or with ``PYTHONPATH`` at another
checkout, to compare): each loop runs 1,000,000 comparisons (the last one 1,000 comparisons
of two 1,000-int lists), compiled and executed as the runner does, best of five, in thread
CPU time so other load on the machine counts less.
"""

from __future__ import annotations

import time

from safeprobe.probe.budget import Budget, OutputBuffer
from safeprobe.probe.compiler import compile_probe
from safeprobe.probe.render import RenderLimits
from safeprobe.probe.sandbox import AttemptState, Sandbox

LOOP = "c = 0\nfor i in range(1000000):\n"
LOOPS = {
    "no comparison": LOOP + "    c += 1\n",
    "names (i < n)": "n = 500000\n" + LOOP + "    if i < n:\n        c += 1\n",
    "literal (i == 5)": LOOP + "    if i == 5:\n        c += 1\n",
    "dict (i in d)": "d = {1: 2, 3: 4}\n" + LOOP + "    if i in d:\n        c += 1\n",
    "chain (0 <= i < n)": "n = 500000\n" + LOOP + "    if 0 <= i < n:\n        c += 1\n",
    "lists (a == b, 1000 ints)": (
        "a = list(range(1000))\nb = list(range(1000))\nc = 0\n"
        "for i in range(1000):\n    if a == b:\n        c += 1\n"
    ),
}


def measure(source: str, repeat: int = 5) -> float:
    """Best thread CPU seconds of one run of ``source`` in a fresh sandbox."""
    code = compile_probe(source, path="bench.py")
    best = float("inf")
    for _ in range(repeat):
        budget = Budget(timeout_s=600, max_steps=10**8, max_items=100_000)
        state = AttemptState(budget, OutputBuffer(65536), RenderLimits())
        scope = Sandbox(state).globals({}, name="bench")
        start = time.thread_time()
        exec(code, scope)
        best = min(best, time.thread_time() - start)
    return best


def main() -> None:
    for name, source in LOOPS.items():
        print(f"{name:28s} {measure(source) * 1000:7.0f} ms CPU")


if __name__ == "__main__":
    main()
