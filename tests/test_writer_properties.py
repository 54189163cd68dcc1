"""Properties of the writer over generated files: an empty plan changes no byte; fixing twice equals fixing once."""

import os
import shutil
import tempfile

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from conftest import make_webui
from writer_support import make_ctx, read_bytes, run_writer

from sd_doctor.core.errors import UserError
from sd_doctor.plan.flags import Plan

NAMES = ["PYTHON", "GIT", "VENV_DIR", "COMMANDLINE_ARGS", "NO_PROXY", "STABLE_DIFFUSION_REPO", "MY_OWN", "python",
         "no_proxy"]
SH_NAMES = ["python_cmd", "venv_dir", "COMMANDLINE_ARGS", "NO_PROXY", "no_proxy", "GIT", "TORCH_COMMAND"]
# No backslash in the generated lines of the empty-plan property: an unquoted Windows path in COMMANDLINE_ARGS is
# a change sd-doctor makes without any plan (the repair, tested in test_writer.py).
FREE = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
FREE_NO_BACKSLASH = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\\"),
                            max_size=30)


# Issue 13's shapes: every spelling cmd resolves to this folder's webui.bat, and set lines continued with ^ (Forge's
# own block: "set COMMANDLINE_ARGS=%COMMANDLINE_ARGS% ^" then " --ckpt-dir ... ^" lines).
CALL_SPELLINGS = ["call webui.bat", "webui.bat", "call webui", "call .\\webui.bat", "start webui.bat",
                  'CALL "%~dp0WEBUI.BAT"']


def _continued(name, first, more):
    return ["set %s=%%%s%% ^" % (name, name) if first else "set %s=%s ^" % (name, more[0] if more else "")] + [
        " %s ^" % m for m in more[:-1]] + [" " + (more[-1] if more else "--x")]


def _flatten(lines):
    out = []
    for line in lines:
        out.extend(line if isinstance(line, list) else [line])
    return out


def bat_lines(free):
    line = st.one_of(
        free,
        st.builds(lambda n, v: "set %s=%s" % (n, v), st.sampled_from(NAMES), free),
        st.builds(lambda n, v: 'set "%s=%s"' % (n, v), st.sampled_from(NAMES), free),
        st.builds(lambda v: "rem " + v, free),
        st.sampled_from(["@echo off", "", "if exist x (", ")", "setlocal enabledelayedexpansion"] + CALL_SPELLINGS),
        st.builds(_continued, st.sampled_from(NAMES), st.booleans(), st.lists(free, max_size=3)),
    )
    return st.lists(line, max_size=12).map(_flatten)


def sh_lines(free):
    line = st.one_of(
        free,
        st.builds(lambda e, n, v: "%s%s=%s" % (e, n, v), st.sampled_from(["", "export "]), st.sampled_from(SH_NAMES),
                  free),
        st.builds(lambda n: '#export %s=""' % n, st.sampled_from(SH_NAMES)),
        st.sampled_from(["#!/bin/bash", "", "# comment"]),
    )
    return st.lists(line, max_size=12)


def assemble(lines, eol, final_eol, bom, encoding):
    text = eol.join(lines) + (eol if final_eol and lines else "")
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    return (b"\xef\xbb\xbf" if bom else b"") + data


def files(lines_strategy):
    return st.one_of(
        st.builds(assemble, lines_strategy, st.sampled_from(["\r\n", "\n"]), st.booleans(), st.booleans(),
                  st.sampled_from(["utf-8", "gbk"])),
        st.binary(max_size=300),
    )


def _fix(root, platform, proposals, plan, no_venv=False):
    ctx = make_ctx(root, platform, pages=(936, 936), fix=True, no_venv=no_venv)
    try:
        return run_writer(ctx, proposals, plan() if callable(plan) else plan)[0]
    except UserError:
        return None


class Folder(object):
    def __init__(self, name, data):
        self.tmp = tempfile.mkdtemp(prefix="sd-doctor-prop-")
        self.root = make_webui(os.path.join(self.tmp, "webui"), {name: data})
        self.path = os.path.join(self.root, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.tmp, ignore_errors=True)


PROPERTY = settings(max_examples=int(os.environ.get("SD_DOCTOR_PROPERTY_EXAMPLES", "80")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(files(bat_lines(FREE_NO_BACKSLASH)))
def test_empty_plan_leaves_any_bat_byte_identical_but_its_bom(data):
    with Folder("webui-user.bat", data) as f:
        before = sorted(os.listdir(f.root))
        result = _fix(f.root, "windows", {}, None)
        # the one change an empty plan makes (issue 13): the BOM goes, unless the file is refused as a whole
        # (undecodable bytes after the BOM): then not a byte changes
        refused = result is None
        expected = data[3:] if data.startswith(b"\xef\xbb\xbf") and not refused else data
        assert read_bytes(f.path) == expected
        if expected == data:
            assert sorted(os.listdir(f.root)) == before


@PROPERTY
@given(files(sh_lines(FREE)))
def test_empty_plan_leaves_any_sh_byte_identical_but_bom_and_crlf(data):
    with Folder("webui-user.sh", data) as f:
        before = sorted(os.listdir(f.root))
        _fix(f.root, "linux", {}, None)
        # the one change an empty plan makes (issue 13): the BOM goes, CRLF becomes LF
        expected = (data[3:] if data.startswith(b"\xef\xbb\xbf") else data).replace(b"\r\n", b"\n")
        assert read_bytes(f.path) == expected
        if expected == data:
            assert sorted(os.listdir(f.root)) == before


VALUES = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from("模型é"), min_size=1,
            max_size=20),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20))
PROPOSALS = st.fixed_dictionaries({}, optional={
    "PYTHON": VALUES, "NO_PROXY": VALUES, "STABLE_DIFFUSION_REPO": VALUES, "port": st.integers(1024, 65535)})
TOKENS = st.one_of(st.none(), st.lists(VALUES, max_size=5))


def _twice(name, platform, data, proposals, tokens, no_venv):
    with Folder(name, data) as f:
        plan = (lambda: Plan(tokens)) if tokens is not None else None
        first = _fix(f.root, platform, proposals, plan, no_venv)
        assume(first is not None)  # refused (undecodable file, unsafe value): nothing to compare
        event("first fix changed the file" if first["changed"] else "first fix changed nothing")
        once = read_bytes(f.path) if os.path.exists(f.path) else None
        listing = sorted(os.listdir(f.root))
        second = _fix(f.root, platform, proposals, plan, no_venv)
        assert second is not None and not second["changed"], second and second["diff"]
        assert (read_bytes(f.path) if os.path.exists(f.path) else None) == once
        assert sorted(os.listdir(f.root)) == listing


@PROPERTY
@given(files(bat_lines(FREE)), PROPOSALS, TOKENS, st.booleans())
def test_fixing_a_bat_twice_equals_fixing_once(data, proposals, tokens, no_venv):
    _twice("webui-user.bat", "windows", data, proposals, tokens, no_venv)


@PROPERTY
@given(files(sh_lines(FREE)), PROPOSALS, TOKENS, st.booleans())
def test_fixing_an_sh_twice_equals_fixing_once(data, proposals, tokens, no_venv):
    _twice("webui-user.sh", "linux", data, proposals, tokens, no_venv)
