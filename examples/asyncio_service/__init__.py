"""An asyncio service: app.py (host), probes/, policies/. See README.md."""
