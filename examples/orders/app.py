"""An order service's state, live, with safeprobe installed: orders with Decimal totals and
Enum states, a Counter of status codes, a cache with datetime expiries, pydantic settings.

    python examples/orders/app.py [POLICY]     (default: policies/orders.yaml)

It prints `orders: pid PID` on stderr and waits; `kill -3 PID` runs the policy's probe.
The state is the fixed snapshot in orders_service.py (the corpus of operator probes in
tests/corpus runs against the same objects).
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

# The service's state lives in its own module, as a real service's would; the policy's
# targets name it (orders_service:orders), looked up in sys.modules.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import orders_service  # noqa: F401 - the state the policy exposes

import safeprobe


def main() -> None:
    here = Path(__file__).resolve().parent
    policy = sys.argv[1] if len(sys.argv) > 1 else here / "policies" / "orders.yaml"
    safeprobe.install(policy)
    print(f"orders: pid {os.getpid()}", file=sys.stderr, flush=True)
    threading.Event().wait()  # serve forever (a real service would handle requests here)


if __name__ == "__main__":
    main()
