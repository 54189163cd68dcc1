"""The Windows tier may not skip itself on a text match (issue 15): once, a scenario skipped whenever the check's
source said "Not implemented yet", so a stub passed CI. These rules read the tier's test modules with ``ast``:

- no string the tier could match against sources or outputs to decide a skip ("Not implemented", "Placeholder",
  "is a stub"), and no ``skipif`` marker but the one for a missing Wine;
- every ``pytest.skip`` is either the module's "Wine is not installed" skip, or sits in a function that fails
  instead when ``CI`` is set (a missing download or locale may skip on a developer's machine, never in CI).
"""

import ast
import os

import pytest

from conftest import ROOT

TIER = ["tests/test_windows_tier.py", "tests/test_windows_exe.py", "tests/test_windows_downloads.py"]
FORBIDDEN = ("not implemented", "placeholder", "is a stub")


def _tree(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as fh:
        return ast.parse(fh.read(), rel)


def _is_pytest_attr(node, name):
    return isinstance(node, ast.Attribute) and node.attr == name and (
        (isinstance(node.value, ast.Name) and node.value.id == "pytest") or
        (isinstance(node.value, ast.Attribute) and node.value.attr == "mark"))


def _strings(node):
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _fails_in_ci(function):
    """The function calls pytest.fail under a test of os.environ.get("CI")."""
    for node in ast.walk(function):
        if isinstance(node, ast.If) and "CI" in _strings(node.test):
            if any(isinstance(c, ast.Call) and _is_pytest_attr(c.func, "fail") for c in ast.walk(node)):
                return True
    return False


@pytest.mark.parametrize("rel", TIER)
def test_the_windows_tier_never_skips_on_a_text_match(rel):
    tree = _tree(rel)
    docstring = ast.get_docstring(tree, clean=False) or ""
    for text in _strings(tree):
        if text == docstring:
            continue
        assert not any(word in text.lower() for word in FORBIDDEN), (rel, text)
    skipifs = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "skipif"]
    assert not skipifs, (rel, "a skipif marker decides a skip by a condition: use the Wine check")
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and _is_pytest_attr(call.func, "skip")):
            continue
        owner = [f for f in functions if any(c is call for c in ast.walk(f))]
        if not owner:  # module level: only the missing Wine
            assert any("Wine is not installed" in s for s in _strings(call)), (rel, call.lineno)
            continue
        assert _fails_in_ci(owner[-1]), (rel, owner[-1].name, call.lineno, "skips in CI too")
