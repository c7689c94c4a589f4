"""gunicorn settings that install safeprobe in every worker.

    gunicorn -c gunicorn_conf.py -w 2 -b 127.0.0.1:8000 app:application

Each worker installs the policy in ``$SAFEPROBE_POLICY`` (default: policies/worker.yaml
beside this file) in ``post_worker_init``, not ``post_fork``: between the two gunicorn's
worker resets the handlers of HUP, QUIT, INT, TERM, USR1, USR2, WINCH, ABRT and CHLD
(``Worker.init_signals``), which would replace safeprobe's handler, and loads the app, so at
``post_worker_init`` the policy's targets (``app:worker``) resolve. The policy's signal is
SIGUSR2, the one a gunicorn worker leaves at its default: its SIGQUIT means "quit now"
(the master sends it to every worker on a quick shutdown), so safeprobe on SIGQUIT would
keep workers alive until the master kills them. Every worker appends to the same audit
file; the appends are locked, so the chain holds every worker's records.
"""

from __future__ import annotations

import os
from pathlib import Path

import safeprobe

POLICY = os.environ.get(
    "SAFEPROBE_POLICY", str(Path(__file__).resolve().parent / "policies" / "worker.yaml")
)


def post_worker_init(worker: object) -> None:
    """In the worker, after gunicorn has set its signals and loaded the app."""
    safeprobe.install(POLICY)
