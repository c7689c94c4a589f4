"""Technique: print a ChainMap that holds itself, or a chain of ChainMaps thousands deep. The
view printed a ChainMap's maps at its own depth, so the renderer's depth bound never grew
along a chain: ``print(cm)`` with ``cm.maps.append(cm)`` recursed until RecursionError (an
error where plain Python prints, its repr being guarded by reprlib.recursive_repr), and so
did a 3,000-deep chain.
Source: CPython Lib/collections/__init__.py (ChainMap.__repr__ under _recursive_repr)."""

import pytest

STDVALS = {"stdvals": {"target": "__main__:stdvals", "allow": ["**"]}}

PROBES = [
    "print(stdvals.chain_loop)",
    "print(stdvals.chain_deep)",
    "print([stdvals.chain_deep, stdvals.chain_loop])",
    "print(f'{stdvals.chain_loop}')",
]


@pytest.mark.parametrize("probe", PROBES)
def test_chained_chainmaps_print_within_the_depth_bound(held, probe: str) -> None:
    """A cyclic or very deep ChainMap prints, cut at the render depth with ``…``."""
    record = held(probe, frozenset({"ok"}), expose=STDVALS)
    assert "ChainMap(" in record["_report"], record["_report"]
    assert "…" in record["_report"], record["_report"]
