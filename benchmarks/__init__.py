"""The benchmark suite: what safeprobe costs a host, against the unguarded original trick.

Run ``python -m benchmarks [--quick] [--out-dir DIR]`` from a clone with safeprobe
installed; it writes BENCHMARKS.md and benchmarks.json. Standard library only, besides
safeprobe itself (and PyYAML, which safeprobe already needs, for policy files).
"""
