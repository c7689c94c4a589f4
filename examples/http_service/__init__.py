"""A threaded HTTP service: app.py (host), probes/, policies/. See README.md."""
