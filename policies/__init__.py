"""Ready-made policies and their probes, shipped in the wheel as safeprobe_policies.

A policy here is used by name wherever a policy path is taken (``install("threads")``,
``safeprobe run --policy threads -- app.py``, ``safeprobe check threads``); the policy layer
resolves the names (safeprobe/policy/builtins.py). Each policy's first comment line is its
summary in ``safeprobe policies``. Their audit log and result files go to the working
directory the name was resolved in, never beside these files.
"""
