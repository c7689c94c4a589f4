"""A prefork server: app.py (master and workers), probes/, policies/. See README.md."""
