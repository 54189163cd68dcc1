"""Shared test helpers: run the real CLI in a subprocess, build web UI folders and fake interpreters."""

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from sd_doctor.core.context import Context
from sd_doctor.launcher.model import build as _build_launcher
from sd_doctor.host import current as _current_host

# Contexts the tests make themselves get the same launcher model the command line hands in (cli.run).
Context.default_launcher_factory = staticmethod(_build_launcher)
Context.default_host_factory = staticmethod(_current_host)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli_env(extra=None, path=None):
    """A clean environment for the CLI: the repo on PYTHONPATH, English, no colour, no proxies."""
    env = dict(os.environ)
    for key in list(env):
        if key.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy") or key in (
                "COMMANDLINE_ARGS", "PYTHON", "VENV_DIR", "GIT", "python_cmd", "venv_dir", "CUDA_VISIBLE_DEVICES"):
            del env[key]
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["LC_ALL"] = env["LANG"] = "C.UTF-8"
    env.pop("LANGUAGE", None)
    env["PYTHONIOENCODING"] = "utf-8"
    if path is not None:
        env["PATH"] = path
    env.update(extra or {})
    return env


def run_cli(args, env=None, cwd=None, timeout=60, python=None, input=None):
    """Run ``python -m sd_doctor ARGS``; returns CompletedProcess with text output."""
    cmd = [python or sys.executable, "-m", "sd_doctor"] + list(args)
    return subprocess.run(cmd, env=env if env is not None else cli_env(), cwd=cwd or ROOT, capture_output=True,
                          timeout=timeout, input=input, text=True, encoding="utf-8", errors="replace")


def run_json(args, **kw):
    """Run the CLI with --json and return (CompletedProcess, parsed document, {id: check})."""
    proc = run_cli(list(args) + ["--json"], **kw)
    assert proc.stdout.strip(), proc.stderr
    doc = json.loads(proc.stdout)
    return proc, doc, dict((c["id"], c) for c in doc["checks"])


def write_fake_python(folder, name, version="3.10.6", bits=64, exit_code=0, executable=None, stderr=None):
    """An executable that answers the doctor's interrogation like a Python of that version and bitness would."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    info = {"version": version, "releaselevel": "final", "bits": bits, "executable": executable or path,
            "prefix": folder, "base_prefix": folder}
    body = "#!/bin/sh\n"
    if stderr:
        body += "echo %s >&2\n" % json.dumps(stderr)
    if exit_code == 0:
        body += "echo '%s'\n" % json.dumps(info)
    body += "exit %d\n" % exit_code
    with open(path, "w") as fh:
        fh.write(body)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def text_of(finding, lang="en"):
    """A finding's lines and advice rendered in ``lang``, one per line (the one such helper of the tests). Rendering
    in English renders the Chinese too, so a message whose Chinese text cannot be formatted fails the test."""
    from sd_doctor.core.text import render

    if lang == "en":
        text_of(finding, "zh")
    return "\n".join(render([m for _, m in finding.lines] + list(finding.advice), lang))


def make_webui(root, files=None, bat_generation="1.7+"):
    """A minimal web UI checkout: launch.py, webui.sh, webui.bat of the given generation, plus ``files``."""
    os.makedirs(root, exist_ok=True)
    bodies = {
        "2022": "@echo off\r\nset PYTHON=python\r\nset VENV_DIR=venv\r\nset COMMANDLINE_ARGS=%*\r\n",
        "2023": "@echo off\r\nif not defined PYTHON (set PYTHON=python)\r\nif not defined VENV_DIR (set \"VENV_DIR=%~dp0%venv\")\r\n",
        "1.7+": "@echo off\r\nif exist webui.settings.bat (\r\n    call webui.settings.bat\r\n)\r\n"
                "if not defined PYTHON (set PYTHON=python)\r\nif not defined VENV_DIR (set \"VENV_DIR=%~dp0%venv\")\r\n",
    }
    base = {"launch.py": "# stand-in\n", "webui.sh": "#!/bin/bash\n", "webui.bat": bodies[bat_generation]}
    base.update(files or {})
    for rel, content in base.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(path, mode, **({} if mode == "wb" else {"newline": ""})) as fh:
            fh.write(content)
    return root


@pytest.fixture
def webui(tmp_path):
    return make_webui(str(tmp_path / "webui"))


def dedent(text):
    return textwrap.dedent(text).lstrip("\n")


def machine_env(root, python_version="3.10.6", bits=64, git=True, extra=None, extra_path=()):
    """A controlled machine for the CLI: PATH is a fresh bin folder (a fake ``python3.10`` of that version, a link
    to the real git) plus ``extra_path``; HOME and PYENV_ROOT are empty folders, so no real interpreter elsewhere is
    found by accident. Returns the environment dict (``env["SD_TEST_BIN"]`` is the bin folder)."""
    import shutil

    bin_dir = os.path.join(root, "bin")
    home = os.path.join(root, "home")
    os.makedirs(bin_dir, exist_ok=True)
    os.makedirs(home, exist_ok=True)
    if python_version:
        write_fake_python(bin_dir, "python3.10", python_version, bits)
    if git and shutil.which("git") and not os.path.exists(os.path.join(bin_dir, "git")):
        os.symlink(shutil.which("git"), os.path.join(bin_dir, "git"))
    env = cli_env(dict({"HOME": home, "PYENV_ROOT": os.path.join(home, ".pyenv"), "SD_TEST_BIN": bin_dir},
                       **(extra or {})), path=os.pathsep.join([bin_dir] + list(extra_path)))
    return env


# -- the real launcher files (../shared/webui-launchers): test data, read at test time, never copied into the project --
CORPUS = os.environ.get("SD_DOCTOR_CORPUS") or os.path.join(os.path.dirname(ROOT), "shared", "webui-launchers")
CORPUS_NAMES = ("a1111-2022-09-08", "a1111-2022-11-10", "a1111-2023-06-05", "a1111-2023-10-14-v1.7",
                "a1111-2024-02-26-v1.8", "forge-2025-06-26")


def corpus_path(name):
    """The folder of one corpus generation; the test skips with a one-line reason where the corpus is absent."""
    path = os.path.join(CORPUS, name)
    if not os.path.isdir(path):
        pytest.skip("the real launcher files are not here (%s): a fresh clone without ../shared" % path)
    return path


def copy_corpus(name, dest):
    """Copy one corpus folder into ``dest`` (created; may contain spaces or non-ASCII), writable, and return it.

    SOURCE.txt stays behind: it is not part of a web UI checkout."""
    import shutil

    src = corpus_path(name)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("SOURCE.txt"), dirs_exist_ok=True)
    for folder, dirs, files in os.walk(dest):
        for entry in dirs + files:
            p = os.path.join(folder, entry)
            os.chmod(p, os.stat(p).st_mode | stat.S_IWUSR)
    os.chmod(dest, os.stat(dest).st_mode | stat.S_IWUSR)
    return dest
