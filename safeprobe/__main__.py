"""``python -m safeprobe``: the same command as ``safeprobe``."""

from safeprobe.tools.cli import main

raise SystemExit(main())
