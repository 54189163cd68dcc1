"""The whole CLI run ends within --timeout (+1 s) when every network endpoint is a black hole.

Black holes, all on loopback: a proxy that accepts and never answers (every proxy variable points at it), a git
remote that accepts and never answers (the web UI's origin and a launch_utils repository, reached directly through
NO_PROXY), and a remote whose host never resolves (its lookup is left to the silent proxy).
"""

import time

import pytest

from conftest import cli_env, make_webui, run_json
from net_servers import Tarpit, git, launch_utils_text


@pytest.mark.parametrize("timeout", [1.0, 2.5])
def test_cli_run_is_bounded_by_timeout(tmp_path, timeout):
    with Tarpit() as proxy, Tarpit() as remote:
        silent = "http://127.0.0.1:%d/repo.git" % remote.port
        webui = make_webui(str(tmp_path / "webui"), {"modules/launch_utils.py": launch_utils_text([
            ("ASSETS", silent, "a" * 40, "stable-diffusion-webui-assets"),
            ("STABLE_DIFFUSION", "https://never-resolves.invalid/sd.git", "b" * 40, "stable-diffusion-stability-ai"),
        ])})
        git("init", "-q", webui)
        git("-C", webui, "remote", "add", "origin", silent)
        cfg = tmp_path / "gitconfig"
        cfg.write_text("")
        proxy_url = "http://127.0.0.1:%d" % proxy.port
        env = cli_env({"HTTP_PROXY": proxy_url, "HTTPS_PROXY": proxy_url, "http_proxy": proxy_url,
                       "https_proxy": proxy_url, "ALL_PROXY": proxy_url, "NO_PROXY": "127.0.0.1",
                       "no_proxy": "127.0.0.1", "GIT_CONFIG_GLOBAL": str(cfg), "GIT_CONFIG_NOSYSTEM": "1"})
        start = time.monotonic()
        proc, doc, checks = run_json([webui, "--timeout", str(timeout), "--verbose", "--lang", "en"], env=env)
        wall = time.monotonic() - start
        accepted = (proxy.accepted, remote.accepted)
    print("CLI wall time with every endpoint a black hole, --timeout %g: %.2f s" % (timeout, wall))
    assert proxy.accepted >= 1 and remote.accepted >= 1, accepted  # both black holes were really met
    assert wall < timeout + 3
    # The network checks ended by themselves, with findings, not by the runner's deadline (timeout + 0.8 s).
    for check_id in ("proxy", "git", "port"):
        assert checks[check_id]["status"] != "skip", checks[check_id]
        print("  %s check: %.2f s" % (check_id, checks[check_id]["elapsed_s"]))
    assert checks["proxy"]["status"] == "error" and "did not answer" in checks["proxy"]["detail"]
    assert checks["git"]["status"] == "error"
    repos = dict((r["url_var"], r) for r in checks["git"]["facts"]["repos"])
    assert repos["ASSETS_REPO"]["remote"]["state"] == "timeout"
    assert repos["STABLE_DIFFUSION_REPO"]["remote"]["state"] in ("timeout", "dns", "proxy-dns")
