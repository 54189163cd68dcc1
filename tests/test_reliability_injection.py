"""Injection, measured: folder names, proxy URLs, COMMANDLINE_ARGS tokens and PYTHON paths holding
``& | ^ % ! ( ) " < >``, ``$( )``, backquotes and newlines. After ``--fix``, sourcing webui-user.sh in bash and
running webui-user.bat under Wine's cmd must run 0 unintended commands: every payload would create its own marker
file (``pwned-N``), and no marker may exist afterwards. The values must also arrive exactly.

bash: the real CLI (``--fix``) in a subprocess, its proposals coming from the environment (NO_PROXY, the proxies), a
Python 3.10 found in a folder named with the payloads (PYTHON), and the user's own file (COMMANDLINE_ARGS); the web UI
folder itself is named with them. cmd: the writer step of ``--fix`` for Windows (tests/test_wine_cmd.py's Case), all
payload cases run in one Wine cmd session (each case in its own child cmd).
"""

import glob
import json
import os
import shlex
import subprocess
import sys
import time

import pytest

from conftest import machine_env, make_webui, run_cli
from reliability_support import read

# Each template runs "make marker M" in bash ({b}) or in cmd ({c}) if a value ever reaches a shell as code.
BASH_TEMPLATES = ["$({b})", "`{b}`", "a;{b}", "a&{b}", "a|{b}", "a\n{b}\n", "\"; {b}; \"", "'; {b}; '", "$(({b}))",
                  "a&&{b}", "<(/bin/sh -c '{b}')", "a>x;{b}", "${{X:-$({b})}}", "!x;{b}", "%PATH%;{b}", "^;{b}",
                  "(x);{b}"]
CMD_TEMPLATES = ["x&{c}", "x|{c}", "x\"&{c}&\"", "x^&{c}", "x)&{c}&(", "x&&{c}", "%COMSPEC:~0,0%&{c}",
                 "!PATH!&{c}", "x<nul&{c}", "x%%&{c}", "\"x\"&{c}", "x||{c}", "(x)&{c}", "x>nul&{c}", "x^\"&{c}"]


def _payloads(templates, start, bash=True):
    out = []
    for n, template in enumerate(templates):
        marker = "pwned-%d" % (start + n)
        out.append(template.format(b="touch %s" % marker, c="type nul>%s" % marker))
    return out


def _markers(top):
    """Every marker file under ``top`` (links not followed: a Wine prefix links z: to /) or in the current folder."""
    found = set(glob.glob(os.path.join(os.getcwd(), "pwned-*")))
    for folder, _, files in os.walk(str(top)):
        found.update(os.path.join(folder, f) for f in files if f.startswith("pwned-"))
    return sorted(found)


def _fake_python(folder):
    """A stand-in python3.10 (3.10.6, 64-bit) whose own path may hold any character (a quoted here-document)."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "python3.10")
    info = {"version": "3.10.6", "releaselevel": "final", "bits": 64, "executable": path, "prefix": folder,
            "base_prefix": folder}
    with open(path, "w") as fh:
        # only shell builtins: PATH holds no cat
        fh.write("#!/bin/sh\nwhile IFS= read -r line; do echo \"$line\"; done <<'JSON'\n%s\nJSON\n" % json.dumps(info))
    os.chmod(path, 0o755)
    return path


def _sq(text):
    return "'" + text.replace("'", "'\\''") + "'"


SOURCE = ('cd "$1" && source ./webui-user.sh >/dev/null 2>&1 </dev/null; '
          'printf "%s\\0" "$COMMANDLINE_ARGS" "$NO_PROXY" "$https_proxy" "${python_cmd-}" "$PATH"')


def _bash_case(tmp_path, n, folder_payload, tokens, no_proxy, proxy):
    """One real --fix run: (webui folder, the python's folder, the finished process, the file before)."""
    top = tmp_path / ("sh%d" % n)
    root = str(top / ("web %s" % folder_payload))
    pydir = str(top / ("py %s" % folder_payload))
    _fake_python(pydir)
    sh = ("#!/bin/bash\nexport COMMANDLINE_ARGS=%s\nexport https_proxy=%s\n" % (
        _sq(" ".join(shlex.quote(t) for t in tokens)), _sq(proxy))).encode("utf-8")
    make_webui(root, {"webui-user.sh": sh})
    env = machine_env(str(top / "m"), python_version="3.12.1", extra_path=[pydir],
                      extra={"NO_PROXY": no_proxy, "http_proxy": proxy})
    proc = run_cli([root, "--no-venv", "--offline", "--fix", "--timeout", "3"], env=env, timeout=90)
    return root, pydir, proc, sh


def _check_sourced(tmp_path, n, root, pydir, tokens, no_proxy, proxy):
    done = subprocess.run(["bash", "-c", SOURCE, "source", root], capture_output=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, cwd=str(tmp_path))
    args, got_no_proxy, got_proxy, python_cmd, path = done.stdout.decode("utf-8", "replace").split("\0")[:5]
    failures = []
    if shlex.split(args)[:len(tokens)] != tokens:
        failures.append(("COMMANDLINE_ARGS", n, args))
    if got_no_proxy != no_proxy + ",localhost,127.0.0.1,::1" or got_proxy != proxy:
        failures.append(("proxy values", n, got_no_proxy, got_proxy))
    if "\n" in pydir:  # a folder name with a line break: that one value is left out (said in the report)
        if python_cmd:
            failures.append(("PYTHON with a newline written", n, python_cmd))
    elif python_cmd != os.path.join(pydir, "python3.10") and not (python_cmd == "python3.10" and path.startswith(
            pydir + ":")):
        failures.append(("PYTHON", n, python_cmd, path[:200]))
    return failures


def test_bash_sources_the_fixed_file_without_running_a_payload(tmp_path):
    payloads = _payloads(BASH_TEMPLATES + CMD_TEMPLATES, 0)
    plain = [p for p in payloads if "\n" not in p]
    lines = [p for p in payloads if "\n" in p]
    folder = "$(touch pwned-900)&`touch pwned-901`;|<>!%^()\"'"
    # (folder name, COMMANDLINE_ARGS tokens, NO_PROXY, proxy URL): the first two must be written, the newline ones
    # refused (a value with a line break cannot be written safely), each with its original kept byte for byte
    runs = [(folder, plain, "a.example," + ",".join(p.replace(",", ";") for p in plain[:12]),
             "http://u@127.0.0.1:9/" + plain[0]),
            ("x(y)%z%!w!^&", plain[::-1], ",".join(plain[12:]).replace(",,", ","), "http://127.0.0.1:9/?" + plain[2]),
            ("a\ntouch pwned-902\n$(touch pwned-903)", plain[:4], "a.example", "http://127.0.0.1:9"),
            ("nl-tokens", plain[:2] + lines, "a.example", "http://127.0.0.1:9"),
            ("nl-no-proxy", plain[:2], "a.example," + ",".join(lines), "http://127.0.0.1:9")]
    written, refused, failures = 0, 0, []
    for n, (folder_payload, tokens, no_proxy, proxy) in enumerate(runs):
        tokens = ["--api", "--ckpt-dir"] + list(tokens)
        root, pydir, proc, before = _bash_case(tmp_path, n, folder_payload, tokens, no_proxy, proxy)
        err = proc.stderr.strip()
        if "Traceback" in err:
            failures.append(("traceback", n, err[-400:]))
        elif proc.returncode == 2 and len(err.splitlines()) == 1 and "cannot be written safely" in err:
            refused += 1
            if read(os.path.join(root, "webui-user.sh")) != before:
                failures.append(("refused but changed", n))
        elif proc.returncode in (0, 1) and "Written" in proc.stdout:
            written += 1
            failures += _check_sourced(tmp_path, n, root, pydir, tokens, no_proxy, proxy)
        else:
            failures.append(("--fix", n, proc.returncode, proc.stdout[-300:], err[-300:]))
    if written < 2:
        failures.append(("written", written))
    ran = _markers(tmp_path)
    print("\ninjection, bash: --fix runs: %d (written and sourced: %d, refused: %d), payloads: %d, commands run: %d, "
          "value failures: %d" % (len(runs), written, refused, len(payloads) + 4, len(ran), len(failures)),
          file=sys.stderr)
    assert not ran and not failures, (ran, failures)


def test_an_escaped_dollar_in_double_quotes_keeps_its_value(tmp_path):
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": b'export COMMANDLINE_ARGS="--x \'/m/\\$(x)\'"\n'})
    env = machine_env(str(tmp_path / "m"), extra={"http_proxy": "http://127.0.0.1:9"})
    proc = run_cli([root, "--no-venv", "--offline", "--fix"], env=env)
    assert proc.returncode in (0, 1), proc.stderr
    done = subprocess.run(["bash", "-c", SOURCE, "source", root], capture_output=True, timeout=30)
    assert shlex.split(done.stdout.decode().split("\0")[0])[:2] == ["--x", "/m/$(x)"]


# -- cmd, under Wine ------------------------------------------------------------------------------------------------
wine_cmd = pytest.importorskip("test_wine_cmd")
wine = wine_cmd.wine  # the module-scoped Wine prefix fixture


@pytest.mark.skipif(wine_cmd.WINE is None, reason="wine is not installed: cannot run cmd")
def test_cmd_runs_the_fixed_files_without_running_a_payload(wine, tmp_path):
    from sd_doctor.core.errors import UserError

    payloads = _payloads(CMD_TEMPLATES + BASH_TEMPLATES, 100)
    plain = [p for p in payloads if "\n" not in p]
    cases, expected, refused, failures = [], {}, 0, []
    # tokens, NO_PROXY, the registry proxies' variables and PYTHON paths (a folder named with the payloads)
    groups = [("tokens", plain[:16]), ("tokens2", plain[16:]), ("values", plain[:6]), ("values2", plain[6:14]),
              ("values3", plain[14:])]
    for name, group in groups:
        user = b"@echo off\r\nset COMMANDLINE_ARGS=--api\r\ncall webui.bat\r\n"
        case = wine_cmd.Case(wine, tmp_path, name, files={"webui-user.bat": user})
        if name.startswith("tokens"):
            tokens = ["--api", "--ckpt-dir"] + group
            case.fix(no_venv=True, plan_tokens=tokens)
            expected[name] = {"tokens": tokens}
        else:
            proposals = {"NO_PROXY": ",".join(["a.example"] + group),
                         "HTTP_PROXY": "http://127.0.0.1:9/" + group[0],
                         "HTTPS_PROXY": "http://127.0.0.1:9/" + group[-1],
                         "PYTHON": "C:\\sd %s\\Python310\\python.exe" % "".join(g for g in group if "\"" not in g)}
            case.fix(no_venv=True, proposals=proposals)
            expected[name] = proposals
        cases.append(case)
    # newlines cannot be held by a set line: the writer refuses, the file stays as it was
    for n, payload in enumerate(p for p in payloads if "\n" in p):
        user = b"@echo off\r\nset COMMANDLINE_ARGS=--api\r\ncall webui.bat\r\n"
        case = wine_cmd.Case(wine, tmp_path, "newline%d" % n, files={"webui-user.bat": user})
        try:
            result, _ = case.fix(no_venv=True, proposals={"NO_PROXY": payload},
                                 plan_tokens=["--api", payload])
            ok = not result.get("applied")
        except (UserError, AssertionError):
            ok = True
        refused += 1
        if not ok or read(os.path.join(case.root, "webui-user.bat")) != user:
            failures.append(("newline written", payload))
        cases.append(case)
    wine_cmd.run_cases(wine, tmp_path, cases)
    for case in cases:
        if case.name not in expected:
            continue
        env = case.env()
        want = expected[case.name]
        if "tokens" in want and shlex.split(env.get("COMMANDLINE_ARGS", "")) != want["tokens"]:
            failures.append((case.name, env.get("COMMANDLINE_ARGS")))
        for var in ("NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY"):
            if var in want and env.get(var) != want[var]:
                failures.append((case.name, var, env.get(var)))
        if "PYTHON" in want and env.get("PYTHON", "").strip('"') != want["PYTHON"]:
            failures.append((case.name, "PYTHON", env.get("PYTHON")))
    ran = _markers(tmp_path)
    print("\ninjection, cmd: cases: %d (one Wine cmd session), payloads: %d, newline values refused: %d, "
          "commands run: %d, value failures: %d" % (len(cases), len(payloads), refused, len(ran), len(failures)),
          file=sys.stderr)
    assert not ran and not failures, (ran, failures)


@pytest.mark.skipif(wine_cmd.WINE is None, reason="wine is not installed: no Windows Python")
def test_windows_cli_fix_then_cmd_runs_no_payload(tmp_path):
    """The whole --fix of the Windows program (the bed's Windows Python in Wine): the user's webui-user.bat holds
    payloads escaped for cmd (``^&``, ``^|``, ``^>``), the environment holds NO_PROXY and a proxy URL with payloads.
    Then cmd runs the fixed file in front of the stub webui.bat: 0 payloads run, the values arrive exactly."""
    from launchers import make_prefix
    from wine import bed as winebed

    try:
        prefix = make_prefix(str(tmp_path / "bed"))
    except winebed.BedError as exc:
        pytest.skip("no Wine bed: %s" % exc)
    try:
        root = str(tmp_path / "webui")
        user = ("@echo off\r\nset PYTHON=\r\nset COMMANDLINE_ARGS=--api --x a^&type nul^>pwned-500 --y b^|type nul^>"
                "pwned-501 --z (c)^&type nul^>pwned-502\r\ncall webui.bat\r\n").encode("ascii")
        make_webui(root, {"webui-user.bat": user})
        dump = str(tmp_path / "dump.py")
        with open(dump, "w") as fh:
            fh.write(wine_cmd.DUMP)
        out = os.path.join(root, "env.json")
        wine_cmd.stub_webui_bat(root, "1.7+", out, dump)
        no_proxy = "a.example,x&type nul>pwned-503,y|type nul>pwned-504,\"&type nul>pwned-505&\",%PATH%,!x!,^&"
        proxy = "http://127.0.0.1:9/?q=a&type nul>pwned-506"
        env = {"NO_PROXY": no_proxy, "http_proxy": proxy}
        done = prefix.doctor([prefix.win(root), "--offline", "--no-venv", "--fix", "--timeout", "3"], env=env,
                             timeout=120)
        assert done.returncode in (0, 1) and "Written" in done.stdout, (done.returncode, done.stdout[-800:],
                                                                        done.stderr[-500:])
        assert not _markers(tmp_path), "the doctor itself ran a payload"
        ran_cmd = prefix.cmd("webui-user.bat", cwd=root, timeout=120)
        deadline = time.monotonic() + 15  # start /unix hands the dump to a Linux process: it may finish after cmd
        while not os.path.isfile(out) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)
        assert os.path.isfile(out), (ran_cmd.stdout[-500:], ran_cmd.stderr[-500:])
        with open(out, encoding="utf-8") as fh:
            seen = json.load(fh)
    finally:
        prefix.destroy()
    ran = _markers(tmp_path)
    tokens = shlex.split(seen.get("COMMANDLINE_ARGS", ""))
    failures = []
    if tokens[:7] != ["--api", "--x", "a&type", "nul>pwned-500", "--y", "b|type", "nul>pwned-501"]:
        failures.append(("COMMANDLINE_ARGS", seen.get("COMMANDLINE_ARGS")))
    if seen.get("NO_PROXY") != no_proxy + ",localhost,127.0.0.1,::1":
        failures.append(("NO_PROXY", seen.get("NO_PROXY")))
    print("\ninjection, Windows CLI --fix then cmd: payloads: 10, commands run: %d, value failures: %d"
          % (len(ran), len(failures)), file=sys.stderr)
    assert not ran and not failures, (ran, failures)
