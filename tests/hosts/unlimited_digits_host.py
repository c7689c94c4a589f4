"""The app host (app_host.py) with CPython's int digit limit turned off, as a host that
prints big numbers may do (``sys.set_int_max_str_digits(0)``): int-to-str is then
quadratic again (CVE-2020-10735), whatever a probe asks to convert.

Usage: python unlimited_digits_host.py POLICY.yaml (commands as app_host.py's)
"""

from __future__ import annotations

import sys

import app_host

stdvals = app_host.stdvals

if __name__ == "__main__":
    sys.set_int_max_str_digits(0)
    app_host.main()
