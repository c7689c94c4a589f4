"""STYLE.md §10 asks every test for a one-line docstring stating the claim it proves; this
keeps that true as tests are added (issue 14)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _tests_without_docstrings(root: Path) -> list[str]:
    missing = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        # ast.walk is breadth-first; sort by line so the list reads in file order.
        for node in sorted(ast.walk(tree), key=lambda n: getattr(n, "lineno", 0)):
            if (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name.startswith("test_")
                and not ast.get_docstring(node)
            ):
                missing.append(f"{path.relative_to(root)}:{node.lineno}: {node.name}")
    return missing


def test_every_test_function_has_a_docstring() -> None:
    """Every test function under tests/ has a docstring stating its claim."""
    missing = _tests_without_docstrings(TESTS)
    assert not missing, "tests without a docstring:\n" + "\n".join(missing)


def test_the_scan_finds_a_nested_test_without_a_docstring(tmp_path: Path) -> None:
    """The scan names a test without a docstring, in a class or subfolder, and no other."""
    (tmp_path / "e2e").mkdir()
    (tmp_path / "e2e" / "test_x.py").write_text(
        "class TestX:\n"
        "    def test_bare(self):\n"
        "        pass\n"
        "\n"
        "    def test_told(self):\n"
        '        """Claim."""\n'
        "\n"
        "\n"
        "async def test_bare_async():\n"
        "    pass\n"
        "\n"
        "\n"
        "def helper():\n"
        "    pass\n",
        encoding="utf-8",
    )
    assert _tests_without_docstrings(tmp_path) == [
        "e2e/test_x.py:2: test_bare",
        "e2e/test_x.py:9: test_bare_async",
    ]
