"""The proof harness itself (tests/launchers.py) on the real launcher files: the real parsers accept and refuse what
those files declare, the real webui.sh (bash) and webui.bat (Wine cmd, through webui-user.bat) hand the probe what
the settings say. No doctor involved here: these prove the harness can be trusted by the tests that use it."""

import os
import subprocess

import pytest

import launchers
from conftest import CORPUS_NAMES, corpus_path


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_real_parser_accepts_empty_and_refuses_an_unknown_flag(name):
    out = launchers.parse_with_real_parser(corpus_path(name), [[], ["--medvram"], ["--sd-doctor-no-such-flag"]])
    assert out["results"][0] is None and out["results"][1] is None, out["results"]
    assert "--sd-doctor-no-such-flag" in out["results"][2][0], out["results"]
    assert "--medvram" in out["declared"]
    expected = "modules/shared.py" if name.startswith("a1111-2022") else "modules/cmd_args.py"
    assert out["parser"] == expected


def test_real_parser_of_sept_2022_refuses_later_flags_and_nov_2022_counts_extract_arg():
    old = launchers.parse_with_real_parser(corpus_path("a1111-2022-09-08"),
                                           [["--xformers"], ["--skip-torch-cuda-test"], ["--precision", "full"]])
    assert old["results"][0] and old["results"][1], old  # neither existed in September 2022
    assert old["results"][2] is None
    nov = launchers.parse_with_real_parser(corpus_path("a1111-2022-11-10"), [["--skip-torch-cuda-test", "--xformers"]])
    # shared.py does not declare --skip-torch-cuda-test: launch.py takes it out of argv first (extract_arg)
    assert "--skip-torch-cuda-test" not in nov["declared"] and "--skip-torch-cuda-test" in nov["extracted"]
    assert nov["results"] == [None]


def test_forge_parser_has_its_backend_flags_and_their_exclusive_group():
    out = launchers.parse_with_real_parser(corpus_path("forge-2025-06-26"),
                                           [["--always-cpu"], ["--always-low-vram", "--always-cpu"]])
    assert out["results"][0] is None
    assert "not allowed with argument" in out["results"][1][0], out


@pytest.fixture
def sh_world(tmp_path):
    python = launchers.real_python("3.10")
    if python is None:
        pytest.skip("no real Python 3.10 on this machine for webui.sh")
    bin_dir = launchers.launcher_bin(str(tmp_path / "bin"), {"python3.10": python})
    home = str(tmp_path / "home")
    os.makedirs(home)
    return bin_dir, home, python


def test_bash_runs_the_real_webui_sh_to_the_probe_in_its_venv(tmp_path, sh_world):
    bin_dir, home, _python = sh_world
    checkout = launchers.make_checkout("a1111-2024-02-26-v1.8", str(tmp_path / "web ui ü"))
    env = launchers.sh_environ(bin_dir, home, {"COMMANDLINE_ARGS": "--medvram --ckpt-dir '/m o/x'"})
    result, probe = launchers.run_webui_sh(checkout, env)
    assert probe["split"] == ["--medvram", "--ckpt-dir", "/m o/x"], probe
    assert launchers.venv_of(probe) == os.path.join(checkout, "venv"), probe
    assert probe["cwd"] == checkout
    # v1.8's webui.sh runs plain python3 (not python3.10) inside the venv it made from python3: Debian's here
    assert probe["executable"] == os.path.join(checkout, "venv", "bin", "python3"), (probe, result)


@pytest.mark.skipif(os.geteuid() != 0, reason="the as-nobody path is for root only")
def test_the_2022_webui_sh_runs_as_nobody_and_its_user_file_wins(tmp_path):
    top = launchers.world_temp()
    try:
        checkout = launchers.make_checkout("a1111-2022-11-10", os.path.join(top, "web"))
        home = os.path.join(top, "home")
        os.makedirs(home)
        env = launchers.sh_environ(launchers.launcher_bin(os.path.join(top, "bin")), home,
                                   {"COMMANDLINE_ARGS": "--medvram"})
        result, probe = launchers.run_webui_sh(checkout, env)
        # that webui-user.sh has an active `export COMMANDLINE_ARGS=""`: it overrides the environment
        assert probe["split"] == [] and probe["in_venv"], probe
        assert os.stat(checkout).st_uid == 0  # handed back to root after the run
    finally:
        subprocess.run(["rm", "-rf", top])


# -- Wine ----------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    if not launchers.wine_available():
        pytest.skip("Wine is not installed: the cmd read-back did not run")
    from wine import bed as winebed

    try:
        prefix = launchers.make_prefix(str(tmp_path_factory.mktemp("wine-harness")))
    except (winebed.BedError, subprocess.TimeoutExpired, OSError) as exc:
        if os.environ.get("CI"):
            pytest.fail("could not build the Windows bed: %s" % exc)
        pytest.skip("could not build the Windows bed: %s" % exc)
    try:
        yield launchers.WineLauncher(prefix)
    finally:
        prefix.destroy()


@pytest.mark.parametrize("name", ["a1111-2024-02-26-v1.8", "forge-2025-06-26"])
def test_wine_cmd_runs_webui_user_bat_then_the_real_webui_bat_to_the_probe(wine, name):
    exe = wine.install_user_python()
    checkout = launchers.make_checkout(name, wine.prefix.unix("C:\\sd\\harness ü\\" + name), user_bat_eol="\r\n")
    path = os.path.join(checkout, "webui-user.bat")
    with open(path, newline="") as fh:
        text = fh.read()
    text = text.replace("set PYTHON=\r\n", "set PYTHON=%s\r\n" % exe).replace(
        "set COMMANDLINE_ARGS=\r\n", "set COMMANDLINE_ARGS=--medvram --ckpt-dir \"C:\\m o\"\r\n")
    with open(path, "w", newline="") as fh:
        fh.write(text)
    wine.precreate_venv(os.path.join(checkout, "venv"), exe)
    result, probe = wine.run_webui_user_bat(checkout)
    assert probe["split"] == ["--medvram", "--ckpt-dir", "C:\\m o"], probe
    assert probe["os"] == "nt" and probe["executable"].lower().endswith("\\venv\\scripts\\python.exe"), probe
    assert launchers.venv_of(probe).lower() == wine.prefix.win(os.path.join(checkout, "venv")).lower()
    assert result.elapsed < 60, result
