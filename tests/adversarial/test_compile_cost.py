"""Technique: make the compiler, not the probe, do the work. Compiling ran in the runner
thread before the attempt's clock started, so a probe file of a few hundred KB of tiny
statements held the runner (and, in the C parts, the GIL) for 6-20 s, whatever the
timeout; changing one byte defeats the code cache, so every signal paid again. The C
parts (``ast.parse``, ``compile``) are single calls no deadline can interrupt in a thread.
Source: CPython's parser and compiler are linear-or-worse in the size of the tree, and
``compile`` is quadratic in the number of code objects of one scope (measured here: 2,000
lambdas compile in ~180 ms, 4,000 in ~700 ms); the "compile bomb" family of denial of
service against tools that compile untrusted code."""

from __future__ import annotations

from collections.abc import Callable

# Many tiny statements, 300 KB: over any probe size cap a policy gets by default.
TINY_STATEMENTS_300KB = "a = 1\n" * 50_000

# Many tiny statements just under the old 256 KiB cap: read, then compiled for seconds.
TINY_STATEMENTS_250KB = "a=1\n" * 62_000

# Many lambdas in one scope, 30 KB: CPython's compile is quadratic in code objects per scope.
MANY_LAMBDAS = "f = lambda: 1\n" * 2_200

# Attribute chains, 30 KB: the transformer (Python) expands every one into guard calls.
ATTRIBUTE_CHAINS = "a.b.c.d\n" * 3_800

# Many f-strings, 30 KB: each field becomes a _format_ call in the transformer.
MANY_FSTRINGS = 'f"{a}{b}"\n' * 3_000

# F-strings just under the syntax-node cap: the slowest shape per node that is still
# compiled (measured here: ~40 us per node in the transformer, the most of any shape).
FSTRINGS_UNDER_THE_NODE_CAP = 'f"{a}{b}"\n' * 620

# One long left-deep expression: the tree is as deep as the expression is long.
DEEP_EXPRESSION = "x = 1" + " + 1" * 7_000 + "\n"

# One huge list literal: one statement, tens of thousands of nodes.
HUGE_LITERAL = "x = [" + ",".join(["1"] * 15_000) + "]\n"

REFUSED_FOR_SIZE = frozenset({"rejected", "compile_error", "timeout"})


def test_300kb_of_tiny_statements_is_held(held: Callable[..., dict[str, object]]) -> None:
    """A 300 KB probe of tiny statements ends within the timeout and never runs."""
    record = held(TINY_STATEMENTS_300KB, REFUSED_FOR_SIZE)
    assert "size" in str(record["reason"]), record["reason"]


def test_250kb_of_tiny_statements_is_held(held: Callable[..., dict[str, object]]) -> None:
    """A probe just under the old size cap is refused or stopped within the timeout."""
    held(TINY_STATEMENTS_250KB, REFUSED_FOR_SIZE)


def test_many_lambdas_are_held(held: Callable[..., dict[str, object]]) -> None:
    """Thousands of lambdas in one scope (quadratic in compile) end within the timeout."""
    held(MANY_LAMBDAS, REFUSED_FOR_SIZE)


def test_attribute_chains_are_held(held: Callable[..., dict[str, object]]) -> None:
    """Thousands of attribute chains (slow in the transformer) end within the timeout."""
    held(ATTRIBUTE_CHAINS, REFUSED_FOR_SIZE)


def test_many_fstrings_are_held(held: Callable[..., dict[str, object]]) -> None:
    """Thousands of f-strings end within the timeout."""
    held(MANY_FSTRINGS, REFUSED_FOR_SIZE)


def test_fstrings_under_the_node_cap_are_held(held: Callable[..., dict[str, object]]) -> None:
    """The largest tree the caps let through compiles and runs within the timeout."""
    held(FSTRINGS_UNDER_THE_NODE_CAP, REFUSED_FOR_SIZE | {"denied"})


def test_deep_expression_is_held(held: Callable[..., dict[str, object]]) -> None:
    """A 7,000-term expression (a tree 7,000 deep) ends within the timeout."""
    held(DEEP_EXPRESSION, REFUSED_FOR_SIZE)


def test_huge_literal_is_held(held: Callable[..., dict[str, object]]) -> None:
    """A 15,000-item list literal ends within the timeout."""
    held(HUGE_LITERAL, REFUSED_FOR_SIZE)
