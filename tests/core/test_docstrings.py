"""Documented contracts (issue 11, point 7): public engine functions say what they take, give and raise.

Every module-level function of rfm_desktop/core without a leading underscore needs a docstring,
and one with a ``Raises`` section when its own body raises; so does every public method of a public
class. The two lists below are the functions not yet there (empty now): they may only shrink (a
listed function that gets documented fails the test until it is taken off the list), and a new
function cannot join them silently.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

CORE = ROOT / "rfm_desktop" / "core"

NO_DOCSTRING_YET: set[str] = set()
NO_RAISES_SECTION_YET: set[str] = set()
# The ones the issue names: documented in full (Parameters, Returns, and Raises where they raise).
NAMED = {
    "pipeline.run",
    "pipeline.prepare",
    "pipeline.load",
    "clustering.prepare_features",
    "export.atomic_write_bytes",
    "rfm.score_customers",
}


def _raises_itself(function: ast.FunctionDef) -> bool:
    """A ``raise`` in the function's own body (not in a nested function or class)."""
    todo: list[ast.AST] = list(function.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Raise):
            return True
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            todo.extend(ast.iter_child_nodes(node))
    return False


def _public_functions() -> dict[str, ast.FunctionDef]:
    found = {}
    for path in sorted(CORE.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                found[f"{Path(path).stem}.{node.name}"] = node
    return found


def test_public_engine_functions_have_docstrings_and_say_what_they_raise():
    functions = _public_functions()
    assert len(functions) > 150  # the walk sees the engine, not an empty folder
    no_doc = {name for name, f in functions.items() if not ast.get_docstring(f)}
    no_raises = {
        name
        for name, f in functions.items()
        if ast.get_docstring(f) and _raises_itself(f) and "Raises" not in ast.get_docstring(f)
    }
    assert no_doc <= NO_DOCSTRING_YET, (
        f"public functions without a docstring: {no_doc - NO_DOCSTRING_YET}"
    )
    assert no_raises <= NO_RAISES_SECTION_YET, (
        f"docstrings without a Raises section: {no_raises - NO_RAISES_SECTION_YET}"
    )
    # the lists only shrink: take a function off once it is documented (or gone)
    assert NO_DOCSTRING_YET <= no_doc, NO_DOCSTRING_YET - no_doc
    assert NO_RAISES_SECTION_YET <= no_raises, NO_RAISES_SECTION_YET - no_raises


def test_the_functions_the_issue_names_are_documented_in_full():
    functions = _public_functions()
    for name in sorted(NAMED):
        doc = ast.get_docstring(functions[name]) or ""
        assert "Parameters\n----------" in doc, name  # get_docstring removes the indent
        assert "Returns\n-------" in doc, name
        if _raises_itself(functions[name]) or name.startswith("pipeline."):
            assert "Raises\n------" in doc, name


def _public_methods() -> dict[str, ast.FunctionDef]:
    """Methods (properties and class methods too) of public classes, not dunder or private."""
    found = {}
    for path in sorted(CORE.glob("*.py")):
        for cls in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(cls, ast.ClassDef) and not cls.name.startswith("_"):
                for node in cls.body:
                    if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                        found[f"{Path(path).stem}.{cls.name}.{node.name}"] = node
    return found


def test_public_methods_of_engine_classes_have_docstrings_and_say_what_they_raise():
    methods = _public_methods()
    assert len(methods) > 80  # the walk sees the classes' methods
    assert "result.AnalysisResult.cluster" in methods and "errors.RFMError.message" in methods
    no_doc = {name for name, f in methods.items() if not ast.get_docstring(f)}
    no_raises = {
        name
        for name, f in methods.items()
        if ast.get_docstring(f) and _raises_itself(f) and "Raises" not in ast.get_docstring(f)
    }
    assert not no_doc, f"public methods without a docstring: {sorted(no_doc)}"
    assert not no_raises, f"method docstrings without a Raises section: {sorted(no_raises)}"


def test_a_raise_in_a_nested_function_is_not_the_outer_ones():
    tree = ast.parse(
        "def outer():\n    def inner():\n        raise ValueError\n    return inner\n"
        "def direct():\n    if True:\n        raise ValueError\n"
    )
    outer, direct = tree.body
    assert not _raises_itself(outer) and _raises_itself(direct)
