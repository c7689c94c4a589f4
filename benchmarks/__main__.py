"""python -m benchmarks [--quick] [--out-dir DIR] [--only FIGURE ...]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks import report, suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure safeprobe against the unguarded reload-and-call handler and "
        "write BENCHMARKS.md and benchmarks.json.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a few short rounds: checks every figure is made"
    )
    parser.add_argument("--out-dir", type=Path, default=Path(), help="where to write (default .)")
    parser.add_argument(
        "--only", nargs="+", choices=sorted(suite.FIGURES), default=(), help="only these figures"
    )
    args = parser.parse_args(argv)
    machine = report.machine_info()

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    rows, raw = suite.run(quick=args.quick, only=args.only, progress=progress)
    md_path, json_path = report.write(args.out_dir, rows, raw, machine, quick=args.quick)
    missed = [row.id for row in rows if row.met is False]
    print(f"wrote {md_path} and {json_path}; goals missed: {', '.join(missed) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
