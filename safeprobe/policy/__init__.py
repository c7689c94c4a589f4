"""The policy layer: what a probe may see and how far it may go, read from YAML.

defaults (every default and cap, with its reason), units (durations, sizes, signals),
fields (the value checks), named_probes (names and request codes), models (the frozen
pydantic models and their JSON Schema), loading (YAML with line numbers, parse_policy,
load_policy) and dump (the effective policy written back). Imports only attempt and errors.
"""
