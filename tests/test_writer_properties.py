"""Properties of the writer over generated files: an empty plan changes no byte (but the repairs of issue 13: a BOM
goes, a webui-user.sh loses the CRs that end its lines); fixing twice equals fixing once; the written webui-user.sh,
sourced by bash, holds the planned values.

The generators hold the shapes of issue 13: ``^`` (batch) and ``\\`` (bash) continuations, a BOM, CRLF / LF / lone
CR line ends, trailing comments, ``+=`` and unexported assignments, and every spelling of a call back into webui.bat.
"""

import os
import re
import shlex
import shutil
import subprocess
import tempfile

from hypothesis import HealthCheck, assume, event, example, given, settings
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


CALLS = ["call webui.bat", "webui.bat", "call webui", "call .\\webui.bat", "start webui.bat", 'CALL "%~dp0WEBUI.BAT"']


def bat_lines(free, paths=True):
    """Lists of logical lines; a line may hold ``^`` + line end (cmd joins the next physical line to it).
    ``paths``: its flags may hold unquoted Windows paths (which sd-doctor quotes without any plan)."""
    flags = ["--api", "--xformers", "--ckpt-dir D:/models"] + (["--ckpt-dir D:\\models", '--lora-dir "E:\\l o"']
                                                               if paths else [])
    line = st.one_of(
        free,
        st.builds(lambda n, v: "set %s=%s" % (n, v), st.sampled_from(NAMES), free),
        st.builds(lambda n, v: 'set "%s=%s"' % (n, v), st.sampled_from(NAMES), free),
        st.builds(lambda v: "rem " + v, free),
        st.sampled_from(["@echo off", "", "if exist x (", ")", "setlocal enabledelayedexpansion"]
                        + [c for c in CALLS if paths or "\\" not in c]),
        # Forge's block: set COMMANDLINE_ARGS=%COMMANDLINE_ARGS% ^ / --ckpt-dir ... ^ / --api
        st.builds(lambda parts: "set COMMANDLINE_ARGS=%COMMANDLINE_ARGS% ^\n" + " ^\n".join(" " + p for p in parts),
                  st.lists(st.sampled_from(flags), min_size=1, max_size=3)),
    )
    return st.lists(line, max_size=12)


def sh_lines(free):
    """Lists of logical lines; a line may hold ``\\`` + line end (bash joins the next physical line to it)."""
    name = st.sampled_from(SH_NAMES)
    line = st.one_of(
        free,
        st.builds(lambda e, n, v: "%s%s=%s" % (e, n, v), st.sampled_from(["", "export "]), name, free),
        st.builds(lambda n: '#export %s=""' % n, name),
        st.sampled_from(["#!/bin/bash", "", "# comment", "# a comment ends in a backslash \\"]),
        st.builds(lambda e, n, v, c: '%s%s="%s"%s' % (e, n, v, c), st.sampled_from(["", "export "]), name,
                  st.sampled_from(["", "--api", "python3.10", "--xformers --medvram"]),
                  st.sampled_from(["", "  # the user's note", " #x"])),
        st.builds(lambda n, v: '%s+=" %s"' % (n, v), name, st.sampled_from(["--medvram", "--api"])),
        st.builds(lambda parts, c: 'export COMMANDLINE_ARGS="' + " \\\n    ".join(parts) + '"' + c,
                  st.lists(st.sampled_from(["--xformers", "--api", "--ckpt-dir '/m o/x'"]), min_size=2, max_size=3),
                  st.sampled_from(["", "  # my flags"])),
    )
    return st.lists(line, max_size=12)


def assemble(lines, eols, final_eol, bom, encoding):
    """The bytes of a file: each line ended by the next of ``eols`` (CRLF, LF or a lone CR, mixed as editors leave
    them); the physical lines of a continued logical line are ended the same way."""
    eols = eols or ["\n"]
    parts = []
    for i, line in enumerate(lines):
        eol = eols[i % len(eols)]
        last = i == len(lines) - 1
        parts.append(line.replace("\n", eol) + ("" if last and not final_eol else eol))
    text = "".join(parts)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    return (b"\xef\xbb\xbf" if bom else b"") + data


def files(lines_strategy):
    return st.one_of(
        st.builds(assemble, lines_strategy, st.lists(st.sampled_from(["\r\n", "\n", "\r"]), min_size=1, max_size=3),
                  st.booleans(), st.booleans(), st.sampled_from(["utf-8", "gbk"])),
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


# Bounded: the whole file runs in well under a minute on a loaded two-core machine; CI may ask for more examples.
PROPERTY = settings(max_examples=int(os.environ.get("SD_DOCTOR_PROPERTY_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@PROPERTY
@given(files(bat_lines(FREE_NO_BACKSLASH, paths=False)))
def test_empty_plan_leaves_any_bat_byte_identical_but_its_bom(data):
    with Folder("webui-user.bat", data) as f:
        before = sorted(os.listdir(f.root))
        done = _fix(f.root, "windows", {}, None)
        # the one change an empty plan makes (issue 13): the BOM goes; a file the writer refuses keeps every byte
        expected = (data[3:] if data.startswith(b"\xef\xbb\xbf") and done is not None else data)
        assert read_bytes(f.path) == expected
        if expected == data:
            assert sorted(os.listdir(f.root)) == before


@PROPERTY
@given(files(sh_lines(FREE)))
@example(data=b"x=1\r")
@example(data=b"a\rb\n\r\r\n")
def test_empty_plan_leaves_any_sh_byte_identical_but_bom_and_crlf(data):
    with Folder("webui-user.sh", data) as f:
        before = sorted(os.listdir(f.root))
        done = _fix(f.root, "linux", {}, None)
        # the changes an empty plan makes (issue 13): the BOM goes, and the CRs that end lines (before LF or at the
        # end of the file: bash reads them into the values); a CR inside a line is an ordinary byte to bash and stays
        expected = data
        if done is not None:
            expected = re.sub(b"\r+(?=\n|\\Z)", b"", data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
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


# Sources the file as webui.sh does, then prints each name's shell value and the exported environment (NUL-separated).
SH_READ = 'source "$1" >/dev/null 2>&1 </dev/null; shift; for v in "$@"; do printf "%s\\0" "${!v-}"; done; env -0'


def _decode(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gbk", "replace")


def assert_bash_reads_the_plan(f, result):
    """The written webui-user.sh, sourced by a real bash: every planned value the writer did not refuse (in a
    finding) is what webui.sh holds (python_cmd, venv_dir) or exports to launch.py (the rest); COMMANDLINE_ARGS
    splits into the planned tokens."""
    from sd_doctor.formats.sh import SHELL_ONLY

    said = [w.render("en") if hasattr(w, "render") else str(w) for w in result["warnings"]]
    refused = set(n for n in result["variables"] for w in said if w.startswith((n + " is not written", n + " cannot"))
                  or (w.startswith(n + "=") and " is not written" in w))
    names = sorted(n for n, v in result["variables"].items() if isinstance(v, str) and n not in refused)
    event("bash read back %d planned value(s), %d refused in a finding" % (len(names), len(refused)))
    if not names or not os.path.exists(f.path):
        return
    out = subprocess.run(["bash", "-c", SH_READ, "prop", f.path] + names, env={"PATH": "/usr/bin:/bin"},
                         cwd=f.tmp, capture_output=True, timeout=30, stdin=subprocess.DEVNULL).stdout.split(b"\0")
    shell = dict(zip(names, (_decode(v) for v in out[:len(names)])))
    env = dict(_decode(e).split("=", 1) for e in out[len(names):] if b"=" in e)
    for name in names:
        got = shell[name] if name in SHELL_ONLY else env.get(name, "")
        if name == "COMMANDLINE_ARGS":
            assert shlex.split(got) == result["commandline_args"], (got, result["commandline_args"], read_bytes(f.path))
        else:
            assert got == result["variables"][name], (name, got, result["variables"][name], read_bytes(f.path))


def _twice(name, platform, data, proposals, tokens, no_venv):
    with Folder(name, data) as f:
        plan = (lambda: Plan(tokens)) if tokens is not None else None
        first = _fix(f.root, platform, proposals, plan, no_venv)
        assume(first is not None)  # refused (undecodable file, unsafe value): nothing to compare
        event("first fix changed the file" if first["changed"] else "first fix changed nothing")
        if platform == "linux":
            assert_bash_reads_the_plan(f, first)
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
@example(data=b"\r", proposals={}, tokens=None, no_venv=True)  # a lone CR: the first fix once left "\r\n" behind
@example(data=b"\r\r\n", proposals={}, tokens=None, no_venv=False)
@example(data=b'export COMMANDLINE_ARGS="--x \\\r  --x"  # my flags\r', proposals={}, tokens=[], no_venv=False)
@example(data=b'export COMMANDLINE_ARGS="--a" # b \\\nexport X=1\n', proposals={}, tokens=["--a", "--lowvram"],
         no_venv=False)  # a backslash in a comment joins nothing: the X=1 line is a line of its own
@example(data=b'export COMMANDLINE_ARGS=\r#export python_cmd=""', proposals={}, tokens=[], no_venv=False)  # a mid-line CR
@example(data=b'export python_cmd=\r#export COMMANDLINE_ARGS=""\r0', proposals={}, tokens=[], no_venv=False)  # 2 names
def test_fixing_an_sh_twice_equals_fixing_once(data, proposals, tokens, no_venv):
    _twice("webui-user.sh", "linux", data, proposals, tokens, no_venv)
