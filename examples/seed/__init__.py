"""The seed story: foo.py (host), probes/bar.py, policies/seed.yaml."""
