"""Reading the web UI's own Python files as Python (``ast``): never imported, never run, never scanned as text.

A file that cannot be read as Python (too large, binary, a syntax error) gives a note naming the file and why; the
callers then fall back to what the generation's markers tell. Comments are not code, and neither is a branch that
can never run (``if False:``, code after ``return``): :func:`live_statements` skips them.
"""

import ast
import os

MAX_SOURCE_BYTES = 2 * 1024 * 1024  # the largest launcher file is ~25 kB; a 50 MB "launch_utils.py" is not one


class Unparsable(Exception):
    """The file is not Python source the doctor can read; ``why`` says what it is instead."""

    def __init__(self, why):
        Exception.__init__(self, why)
        self.why = why


def parse_file(path):
    """The ``ast.Module`` of a Python file; raises Unparsable (with a short reason) or OSError."""
    size = os.path.getsize(path)
    if size > MAX_SOURCE_BYTES:
        raise Unparsable("too large to be a launcher file (%d MB)" % (size // (1024 * 1024)))
    with open(path, "rb") as fh:
        data = fh.read()
    if b"\x00" in data:
        raise Unparsable("binary, not Python source")
    try:
        return ast.parse(data, filename=os.path.basename(path))
    except SyntaxError as exc:
        return _retry_decoded(data, exc)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unparsable("not readable as Python source (%s)" % exc.__class__.__name__)


def _retry_decoded(data, first_error):
    """A file saved in another encoding than it declares: decode leniently once, else report the syntax error."""
    try:
        return ast.parse(data.decode("utf-8", "replace"))
    except SyntaxError:
        raise Unparsable("syntax error at line %s: %s" % (first_error.lineno, first_error.msg))


def _constant_truth(test):
    """True/False when an ``if``/``while`` test is a literal constant, else None."""
    if isinstance(test, ast.Constant):  # Python 3.8+: every literal is an ast.Constant
        return bool(test.value)
    return None


_ENDS_BLOCK = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def live_statements(body):
    """Every statement in ``body`` and its nested blocks that can run, in source order.

    Skipped: the dead side of ``if <constant>``, ``while False`` bodies, statements after return/raise/break/continue
    in the same block. Function and class bodies are included (a clone inside a function runs when it is called;
    the launcher calls prepare_environment)."""
    for stmt in body:
        yield stmt
        for block in _live_blocks(stmt):
            for inner in live_statements(block):
                yield inner
        if isinstance(stmt, _ENDS_BLOCK):
            return


def _live_blocks(stmt):
    if isinstance(stmt, ast.If):
        truth = _constant_truth(stmt.test)
        if truth is True:
            return [stmt.body]
        if truth is False:
            return [stmt.orelse]
        return [stmt.body, stmt.orelse]
    if isinstance(stmt, ast.While):
        return [] if _constant_truth(stmt.test) is False else [stmt.body, stmt.orelse]
    blocks = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(stmt, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            blocks.append(value)
    for handler in getattr(stmt, "handlers", None) or []:
        blocks.append(handler.body)
    return blocks


def live_calls(tree):
    """Every call expression inside a live statement (not inside nested dead blocks), in source order."""
    for stmt in live_statements(tree.body):
        for node in _walk_shallow(stmt):
            if isinstance(node, ast.Call):
                yield stmt, node


def _walk_shallow(stmt):
    """The nodes of one statement, without descending into its nested statements (they are visited on their own)."""
    stack = [stmt]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.stmt):
                stack.append(child)


def call_name(call):
    """'git_clone' for git_clone(...), 'os.environ.get' for os.environ.get(...), else None."""
    parts = []
    func = call.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
        return ".".join(reversed(parts))
    return None


def string_value(node, known=None):
    """The text of a string literal or f-string (``{name}`` parts from ``known``, else kept as ``{name}``)."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        out = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                name = part.value.id if isinstance(part.value, ast.Name) else None
                out.append((known or {}).get(name, "{%s}" % (name or "...")))
            else:
                out.append(string_value(part, known) or "")
        return "".join(out)
    if isinstance(node, ast.Name) and known and node.id in known:
        return known[node.id]
    return None


def environ_default(call):
    """('VAR', default node) for ``os.environ.get('VAR', default)`` / ``environ.get``, else None."""
    name = call_name(call)
    if name not in ("os.environ.get", "environ.get") or not call.args:
        return None
    var = string_value(call.args[0])
    if not var:
        return None
    return var, (call.args[1] if len(call.args) > 1 else None)
