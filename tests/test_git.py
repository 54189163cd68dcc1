"""git check: real repositories served by git http-backend on loopback, real clones, real ownership problems."""

import os
import shutil
import subprocess
import time

import pytest

from conftest import cli_env, make_webui, run_json, text_of
from net_servers import GitHttpServer, Tarpit, Tinyproxy, free_port, git, launch_utils_text, make_repo
from sd_doctor.checks import git as git_check
from sd_doctor.core.context import Context, Options

SD_MIRROR = "https://github.com/w-e-w/stablediffusion.git"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("gitsrv")
    hashes = {}
    for name in ("webui", "assets", "kdiff", "blip", "other", "ext"):
        hashes[name] = make_repo(str(root / "src" / name), bare_copy=str(root / "srv" / (name + ".git")))
    srv = GitHttpServer(str(root / "srv"))
    srv.hashes = hashes
    srv.src = str(root / "src")
    yield srv
    srv.close()


def isolated_env(tmp_path, extra=None):
    """cli_env plus a git configuration of our own (no user or system settings such as safe.directory=*)."""
    cfg = tmp_path / "gitconfig"
    if not cfg.exists():
        cfg.write_text("")
    env = cli_env(dict({"GIT_CONFIG_GLOBAL": str(cfg), "GIT_CONFIG_NOSYSTEM": "1"}, **(extra or {})))
    return env


def webui_with(tmp_path, server, repos, git_checkout=True, files=None):
    """A web UI folder whose launch_utils.py clones ``repos`` = [(STEM, url, commit, folder)]."""
    root = str(tmp_path / "webui")
    body = {"modules/launch_utils.py": launch_utils_text(repos)}
    body.update(files or {})
    make_webui(root, body)
    if git_checkout:
        git("init", "-q", root)
        git("-C", root, "add", "launch.py")
        git("-C", root, "commit", "-q", "-m", "web UI")
        git("-C", root, "remote", "add", "origin", server.url("webui.git"))
    return root


def default_repos(server, sd_url=None):
    h = server.hashes
    return [("ASSETS", server.url("assets.git"), h["assets"], "stable-diffusion-webui-assets"),
            ("STABLE_DIFFUSION", sd_url or server.url("missing-stablediffusion.git"), "a" * 40,
             "stable-diffusion-stability-ai"),
            ("K_DIFFUSION", server.url("kdiff.git"), h["kdiff"], "k-diffusion"),
            ("BLIP", server.url("blip.git"), h["blip"], "BLIP")]


def run_check(webui, env, timeout=5.0, offline=False):
    ctx = Context(webui, Options(timeout=timeout, offline=offline), environ=env)
    start = time.monotonic()
    facts = git_check.probe(ctx)
    finding = git_check.judge(facts)
    return facts, finding, time.monotonic() - start


def repo_facts(facts, var):
    return [r for r in facts["repos"] if r["url_var"] == var][0]


def test_remotes_from_launch_utils_and_deleted_stable_diffusion(tmp_path, server):
    webui = webui_with(tmp_path, server, default_repos(server))
    before = len(server.requests)
    facts, finding, _ = run_check(webui, isolated_env(tmp_path))
    paths = [p for p, _ in server.requests[before:]]
    # Every remote was really asked, the web UI's origin included.
    for name in ("webui.git", "assets.git", "kdiff.git", "blip.git", "missing-stablediffusion.git"):
        assert any(name in p for p in paths), (name, paths)
    assert repo_facts(facts, "ASSETS_REPO")["remote"]["state"] == "reachable"
    assert repo_facts(facts, "ASSETS_REPO")["commit"] == server.hashes["assets"]
    assert repo_facts(facts, "STABLE_DIFFUSION_REPO")["remote"]["state"] == "gone"
    assert repo_facts(facts, "STABLE_DIFFUSION_REPO")["folder"] == "stable-diffusion-stability-ai"
    assert finding.status == "error"
    assert finding.proposals == {"STABLE_DIFFUSION_REPO": SD_MIRROR}
    text = text_of(finding)
    assert "Couldn't clone Stable Diffusion" in text
    assert "export STABLE_DIFFUSION_REPO=" + SD_MIRROR in text


def test_overrides_from_environment_and_settings_file(tmp_path, server):
    repos = default_repos(server, sd_url=server.url("other.git"))
    webui = webui_with(tmp_path, server, repos, files={
        "webui-user.sh": "export BLIP_REPO=%s\nexport BLIP_COMMIT_HASH=%s\n" % (server.url("other.git"),
                                                                                server.hashes["other"])})
    env = isolated_env(tmp_path, {"K_DIFFUSION_REPO": server.url("ext.git")})
    before = len(server.requests)
    facts, finding, _ = run_check(webui, env)
    paths = [p for p, _ in server.requests[before:]]
    assert any("ext.git" in p for p in paths) and not any("kdiff.git" in p for p in paths)
    assert not any("blip.git" in p for p in paths)
    kd, blip = repo_facts(facts, "K_DIFFUSION_REPO"), repo_facts(facts, "BLIP_REPO")
    assert (kd["url"], kd["url_source"]) == (server.url("ext.git"), "environment")
    assert (blip["url_source"], blip["commit"], blip["commit_source"]) == ("webui-user.sh", server.hashes["other"],
                                                                          "webui-user.sh")
    assert finding.status == "ok", text_of(finding)
    assert "All 4 repositories" in text_of(finding)


def test_unreachable_remotes_are_bounded(tmp_path, server):
    with Tarpit() as tarpit:
        dead = free_port()
        repos = default_repos(server, sd_url=server.url("other.git"))
        repos[2] = ("K_DIFFUSION", "http://127.0.0.1:%d/kdiff.git" % tarpit.port, "b" * 40, "k-diffusion")
        repos[3] = ("BLIP", "http://127.0.0.1:%d/blip.git" % dead, "c" * 40, "BLIP")
        webui = webui_with(tmp_path, server, repos)
        facts, finding, elapsed = run_check(webui, isolated_env(tmp_path), timeout=1.5)
        assert tarpit.accepted >= 1
    print("git probe against a tarpit with --timeout 1.5: %.2f s" % elapsed)
    assert elapsed < 1.5 + 0.5
    assert repo_facts(facts, "K_DIFFUSION_REPO")["remote"]["state"] == "timeout"
    assert repo_facts(facts, "BLIP_REPO")["remote"]["state"] == "refused"
    assert repo_facts(facts, "ASSETS_REPO")["remote"]["state"] == "reachable"
    assert finding.status == "error"
    text = text_of(finding)
    assert "Cannot reach http://127.0.0.1:%d/kdiff.git" % tarpit.port in text and "no answer within 1.5 s" in text
    assert "Failed to connect" in text


def test_local_health_of_repositories(tmp_path, server):
    h = server.hashes
    webui = webui_with(tmp_path, server, default_repos(server, sd_url=server.url("other.git")))
    repos_dir = os.path.join(webui, "repositories")
    # A good clone at its pinned commit; a folder that is no clone; a clone that lacks its pinned commit.
    git("clone", "-q", server.url("assets.git"), os.path.join(repos_dir, "stable-diffusion-webui-assets"))
    os.makedirs(os.path.join(repos_dir, "k-diffusion", "k_diffusion"))
    git("clone", "-q", server.url("other.git"), os.path.join(repos_dir, "BLIP"))  # other.git lacks blip's commit
    facts, finding, _ = run_check(webui, isolated_env(tmp_path), offline=True)
    assert repo_facts(facts, "ASSETS_REPO")["local"]["state"] == "ok"
    assert repo_facts(facts, "K_DIFFUSION_REPO")["local"]["state"] == "not-a-clone"
    assert repo_facts(facts, "BLIP_REPO")["local"]["state"] == "no-commit"
    assert finding.status == "error"
    text = text_of(finding)
    assert "rm -rf %s" % os.path.join(repos_dir, "k-diffusion") in text
    assert "reference is not a tree" in text and h["blip"] in text
    assert "rm -rf %s" % os.path.join(repos_dir, "BLIP") in text
    assert {"action": "rename-aside", "path": os.path.join(repos_dir, "BLIP")} in finding.remedies
    # --offline: no remote was asked, and it says so.
    assert all(r["remote"] is None for r in facts["repos"])
    assert "Remote probes skipped (--offline)" in text


def test_offline_makes_no_request(tmp_path, server):
    webui = webui_with(tmp_path, server, default_repos(server))
    before = len(server.requests)
    proc, doc, checks = run_json([webui, "--offline", "--lang", "en"], env=isolated_env(tmp_path))
    assert len(server.requests) == before
    assert "Remote probes skipped" in checks["git"]["detail"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown to another user")
def test_dubious_ownership_for_real(tmp_path, server):
    repos = default_repos(server, sd_url=server.url("other.git"))
    webui = webui_with(tmp_path, server, repos)
    assets = os.path.join(webui, "repositories", "stable-diffusion-webui-assets")
    git("clone", "-q", server.url("assets.git"), assets)
    ext = os.path.join(webui, "extensions", "sd-ext")
    git("clone", "-q", server.url("ext.git"), ext)
    subprocess.run(["chown", "-R", "nobody", assets, ext], check=True)
    env = isolated_env(tmp_path)
    # The message really appears for this repository and this account.
    probe = subprocess.run(["git", "-C", assets, "rev-parse", "HEAD"], env=env, capture_output=True, text=True)
    assert "detected dubious ownership" in probe.stderr
    proc, doc, checks = run_json([webui, "--offline", "--lang", "en"], env=env)
    c = checks["git"]
    assert c["status"] == "error"
    assert "dubious ownership" in c["detail"]
    assert "git config --global --add safe.directory %s" % assets in c["advice"][0] + "".join(c["advice"])
    assert any("safe.directory %s" % ext in a for a in c["advice"])
    assert "Extension sd-ext" in c["detail"]


def test_many_extensions_are_checked_concurrently(tmp_path, server):
    webui = webui_with(tmp_path, server, default_repos(server, sd_url=server.url("other.git")))
    src = os.path.join(server.src, "ext")
    for i in range(16):
        shutil.copytree(src, os.path.join(webui, "extensions", "ext-%02d" % i))
    broken = os.path.join(webui, "extensions", "ext-07", ".git")
    shutil.rmtree(broken)
    os.makedirs(broken)  # a .git folder with nothing in it
    facts, finding, elapsed = run_check(webui, isolated_env(tmp_path), offline=True)
    assert len(facts["extensions"]) == 16
    states = dict((e["name"], e["local"]["state"]) for e in facts["extensions"])
    assert states.pop("ext-07") == "invalid"
    assert set(states.values()) == {"ok"}
    assert finding.status == "warn"
    assert "Extension ext-07 is not a valid git clone" in text_of(finding)
    print("16 extensions checked in %.2f s" % elapsed)


def test_zip_download_and_missing_git(tmp_path, server):
    webui = webui_with(tmp_path, server, default_repos(server, sd_url=server.url("other.git")), git_checkout=False,
                       files={"webui-user.sh": "export GIT=%s\n" % str(tmp_path / "nowhere" / "git")})
    facts, finding, _ = run_check(webui, isolated_env(tmp_path), offline=True)
    text = text_of(finding)
    assert finding.status == "error"
    assert "not a git checkout" in text
    assert "GIT in webui-user.sh is %s" % (tmp_path / "nowhere" / "git") in text


def test_ls_remote_goes_through_the_proxy_and_fails_without_it(tmp_path, server):
    if not (shutil.which("tinyproxy") or os.path.exists("/usr/bin/tinyproxy")):
        pytest.skip("tinyproxy is not installed")
    repos = default_repos(server, sd_url=server.url("other.git"))
    webui = webui_with(tmp_path, server, repos)
    proxy = Tinyproxy(str(tmp_path / "proxy"))
    try:
        env = isolated_env(tmp_path, {"http_proxy": proxy.url})
        before = len(server.requests)
        facts, finding, _ = run_check(webui, env)
        via = [h.get("via", "") for p, h in server.requests[before:] if "kdiff.git" in p]
        assert via and all("sdtestproxy" in v for v in via), via
        assert "kdiff.git" in proxy.log_text()
        assert repo_facts(facts, "K_DIFFUSION_REPO")["remote"]["state"] == "reachable"
        assert repo_facts(facts, "K_DIFFUSION_REPO")["proxy"] == proxy.url
    finally:
        proxy.stop()
    before = len(server.requests)
    facts, finding, _ = run_check(webui, env)
    assert not any("kdiff.git" in p for p, _ in server.requests[before:])
    assert repo_facts(facts, "K_DIFFUSION_REPO")["remote"]["state"] == "refused"
    assert finding.status == "error"
    assert "through proxy %s" % proxy.url in text_of(finding)


# -- judge-level: Windows facts ----------------------------------------------------------------------------------

def windows_facts(local_state, detail=None):
    root = r"D:\AI\stable diffusion webui"
    folder = root + r"\repositories\k-diffusion"
    return {
        "platform": "windows", "webui_dir": root, "offline": True, "timeout": 5.0,
        "git": {"command": "git", "source": "default", "path": r"C:\Program Files\Git\cmd\git.exe",
                "version": "2.43.0.windows.1", "error": None},
        "checkout": {"installed": True, "is_git": True, "origin": "https://github.com/AUTOMATIC1111/stable-diffusion-webui.git",
                     "local": {"state": "dubious", "detail": "fatal: detected dubious ownership in repository at "
                                                             "'D:/AI/stable diffusion webui'"}, "remote": None},
        "launch_utils": root + r"\modules\launch_utils.py",
        "repos": [{"url_var": "K_DIFFUSION_REPO", "commit_var": "K_DIFFUSION_COMMIT_HASH",
                   "url": "https://github.com/crowsonkb/k-diffusion.git", "url_source": "launch_utils",
                   "commit": "ab527a9a6d347f364e3d185ba6d714e22d80cb3c", "commit_source": "launch_utils",
                   "folder": "k-diffusion", "path": folder, "local": dict({"state": local_state}, detail=detail),
                   "remote": None, "proxy": None}],
        "other_repositories": [], "extensions": [], "extensions_total": 0,
    }


def test_windows_safe_directory_uses_forward_slashes():
    finding = git_check.judge(windows_facts("ok"))
    assert finding.status == "error"
    assert 'git config --global --add safe.directory "D:/AI/stable diffusion webui"' in text_of(finding)


def test_windows_stale_clone_gets_rmdir():
    finding = git_check.judge(windows_facts("no-commit", "fatal: reference is not a tree: ab527a9"))
    text = text_of(finding)
    assert r'rmdir /s /q "D:\AI\stable diffusion webui\repositories\k-diffusion"' in text
    assert "reference is not a tree" in text


def test_windows_deleted_default_repo_offline_still_proposes_mirror():
    facts = windows_facts("ok")
    facts["checkout"]["local"] = {"state": "ok"}
    facts["repos"][0].update(url_var="STABLE_DIFFUSION_REPO", url="https://github.com/Stability-AI/stablediffusion.git",
                             folder="stable-diffusion-stability-ai", local={"state": "missing"})
    finding = git_check.judge(facts)
    assert finding.status == "error"
    assert finding.proposals == {"STABLE_DIFFUSION_REPO": SD_MIRROR}
    assert "put this line in webui-user.bat:\nset STABLE_DIFFUSION_REPO=" + SD_MIRROR in text_of(finding)
    facts["settings_file"] = "webui.settings.bat"  # one-click package: its updater overwrites webui-user.bat
    assert "put this line in webui.settings.bat:\nset STABLE_DIFFUSION_REPO=" + SD_MIRROR in text_of(
        git_check.judge(facts))


def test_launch_utils_parsing_variants(tmp_path):
    from sd_doctor.launcher import launch_utils as launch_utils_reader
    from sd_doctor.launcher.model import apply_overrides

    text = ("import os\n"
            "def prepare_environment():\n"
            "    assets = os.environ.get(\"ASSETS_REPO\", 'https://example.invalid/assets.git')\n"
            "    fancy_repo = os.environ.get('FANCY_REPO', \"https://example.invalid/fancy.git\")\n"
            "    fancy_commit = os.environ.get('FANCY_COMMIT_HASH', \"0123abcd\")\n"
            "    git_clone(fancy_repo, repo_dir('fancy-folder'), \"Fancy\", fancy_commit)\n"
            "    commandline = os.environ.get('COMMANDLINE_ARGS', \"\")\n")
    # An old install keeps these lines in launch.py. ASSETS_REPO is read but never cloned: not a clone.
    root = make_webui(str(tmp_path / "old"), {"launch.py": text})
    facts, notes = launch_utils_reader.read(root)
    assert notes == [] and facts["file"] == "launch.py"
    assert [(r["url_var"], r["folder"], r["default_commit"]) for r in facts["repos"]] == [
        ("FANCY_REPO", "fancy-folder", "0123abcd")]
    # the launcher's variables override the defaults
    fancy = apply_overrides(facts["repos"], {"FANCY_COMMIT_HASH": "feedbeef"}, {"FANCY_COMMIT_HASH": "webui-user.sh"})[0]
    assert (fancy["commit"], fancy["commit_source"], fancy["url_source"]) == ("feedbeef", "webui-user.sh", "default")
