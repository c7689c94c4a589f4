"""``python -m safeprobe``: the same command as ``safeprobe``."""

from safeprobe.cli import main

raise SystemExit(main())
