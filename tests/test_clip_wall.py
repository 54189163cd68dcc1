"""The CLIP / setuptools 81 wall (issue 11 part 3), judged on the real launch_utils.py / launch.py files of
../shared/webui-launchers (and a copy edited the way A1111's dev branch installs CLIP)."""

import os
import shlex

import pytest

from conftest import copy_corpus, run_json, text_of
from dists import write_dist
from test_venv_packages import install_torch
from test_venv_check import PY310, judge_dir, make_venv

from sd_doctor.probes import clip_install


@pytest.mark.parametrize("corpus, isolated", [("a1111-2024-02-26-v1.8", True), ("forge-2025-06-26", True),
                                              ("a1111-2023-06-05", True), ("a1111-2022-11-10", True),
                                              ("a1111-2022-09-08", None)])
def test_how_each_real_launcher_installs_clip(tmp_path, corpus, isolated):
    webui = copy_corpus(corpus, str(tmp_path / "webui"))
    facts = clip_install.describe(webui, {})
    assert facts["isolated"] is isolated
    if isolated:
        assert "CLIP" in facts["package"] and facts["package_source"] == "launch_utils"


def dev_branch_copy(tmp_path):
    webui = copy_corpus("a1111-2024-02-26-v1.8", str(tmp_path / "webui"))
    path = os.path.join(webui, "modules", "launch_utils.py")
    with open(path, encoding="utf-8") as fh:
        source = fh.read()
    assert 'run_pip(f"install {clip_package}", "clip")' in source
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(source.replace('run_pip(f"install {clip_package}", "clip")',
                                'run_pip(f"install --no-build-isolation {clip_package}", "clip")'))
    return webui


def test_a_launcher_that_disables_build_isolation_is_spared(tmp_path):
    assert clip_install.describe(dev_branch_copy(tmp_path), {})["isolated"] is False


def test_first_start_warns_with_the_exact_commands(tmp_path):
    webui = copy_corpus("a1111-2024-02-26-v1.8", str(tmp_path / "web ui"))
    f = judge_dir(webui)
    venv = os.path.join(webui, "venv")
    py = shlex.quote(os.path.join(venv, "bin", "python"))
    out = text_of(f)
    assert f.status == "warn" and "Couldn't install clip" in out and "pkg_resources" in text_of(f, "zh")
    package = clip_install.describe(webui, {})["package"]
    assert "-m venv %s" % shlex.quote(venv) in out
    assert '%s -m pip install "setuptools<81" wheel' % py in out
    assert "%s -m pip install --no-build-isolation %s" % (py, shlex.quote(package)) in out
    assert "checkout dev" in out  # A1111: the dev branch's fix
    own = judge_dir(webui, environ={"CLIP_PACKAGE": "/srv/wheels/CLIP.zip"})
    assert "--no-build-isolation /srv/wheels/CLIP.zip" in text_of(own)


def test_forge_gets_no_dev_branch_advice_and_skip_install_no_warning(tmp_path):
    webui = copy_corpus("forge-2025-06-26", str(tmp_path / "webui"))
    f = judge_dir(webui)
    assert f.status == "warn" and "checkout dev" not in text_of(f)
    assert judge_dir(webui, environ={"COMMANDLINE_ARGS": "--skip-install"}).status == "ok"
    assert judge_dir(dev_branch_copy(tmp_path / "dev")).status == "ok"


@pytest.mark.skipif(not PY310, reason="needs a real Python 3.10 (pyenv)")
def test_clip_already_in_the_venv(tmp_path):
    webui = copy_corpus("a1111-2024-02-26-v1.8", str(tmp_path / "webui"))
    venv = make_venv(PY310, os.path.join(webui, "venv"))
    site = [os.path.join(venv, "lib", d, "site-packages") for d in os.listdir(os.path.join(venv, "lib"))][0]
    assert judge_dir(webui).status == "warn"
    install_torch(site, "2.1.2+cu121", "12.1")
    write_dist(site, "clip", "1.0", files={"clip/__init__.py": ""})
    assert judge_dir(webui).status == "ok", text_of(judge_dir(webui))


def test_cli_reports_the_wall_in_both_languages(tmp_path):
    webui = copy_corpus("a1111-2024-02-26-v1.8", str(tmp_path / "webui"))
    for lang, words in (("en", "Couldn't install clip"), ("zh", "首次启动")):
        proc, doc, checks = run_json([webui, "--offline", "--timeout", "2", "--lang", lang])
        assert checks["venv"]["status"] == "warn" and words in checks["venv"]["detail"]
