"""git: git itself, the web UI checkout, the repositories the launcher clones, and their remotes (webui-facts.md §1, §5).

The remotes are read from the installed ``modules/launch_utils.py`` with the launcher's *_REPO / *_COMMIT_HASH
overrides applied, and probed with bounded ``git ls-remote`` runs, concurrently, through whatever proxy git itself
uses. Local health (ownership, valid clone, pinned commit) needs no network and runs under --offline too.
"""

import os
import time

from sd_doctor.checks._common import delete_folder_command, settings_file
from sd_doctor.checks._settings_lines import put_line
from sd_doctor.core.finding import Finding
from sd_doctor.core.redact import redact
from sd_doctor.core.text import T
from sd_doctor.probes import git as gitprobe
from sd_doctor.probes import git_clones

ID = "git"
TITLE = T("git and repositories", "git 与代码仓库")

SD_REPO_VAR = "STABLE_DIFFUSION_REPO"
SD_MIRROR = "https://github.com/w-e-w/stablediffusion.git"
_DELETED_SD = "github.com/stability-ai/stablediffusion"  # gone since December 2025 (#17204, #17213, #17218)
MAX_EXTENSIONS = 200
UNREACHABLE = ("timeout", "dns", "refused", "proxy", "proxy-dns", "proxy-auth", "error")


def budget(timeout):
    """Seconds this check's probes may use: they must end by themselves before the runner's deadline."""
    return max(0.3, timeout - 0.25)


def _repo_entries(info, repos_dir, variables, windows):
    from sd_doctor.probes import proxies

    repos = []
    for r in info["repos"]:
        folder = os.path.join(repos_dir, r["folder"]) if r.get("folder") else None
        proxy = proxies.curl_proxy_for(r["url"], variables, windows)
        repos.append({"url_var": r["url_var"], "commit_var": r["commit_var"], "url": redact(r["url"]),
                      "url_source": r["url_source"], "commit": r["commit"], "commit_source": r["commit_source"],
                      "folder": r.get("folder"), "path": folder, "local": None, "remote": None,
                      "proxy": redact(proxy) if proxy else None})
    return repos


def _probe_clones(ctx, facts, info, git_path, deadline):
    """Local health of every clone and the reachability of every remote, filled into the facts."""
    checkout, repos = facts["checkout"], facts["repos"]
    urls = []
    if not ctx.offline:
        urls = ([info["origin"]] if info["origin"] and checkout["is_git"] else []) + \
               [r["url"] for r in info["repos"] if r.get("url")]
    local_jobs = [(checkout, ctx.webui_dir, None)] if checkout["is_git"] else []
    local_jobs += [(entry, entry["path"], r["commit"]) for entry, r in zip(repos, info["repos"]) if entry["path"]]
    local_jobs += [(entry, entry["path"], None) for entry in facts["other_repositories"] + facts["extensions"]]
    cwd = ctx.webui_dir if os.path.isdir(ctx.webui_dir) else None
    by_url = git_clones.probe_all(git_path, gitprobe.git_env(ctx), deadline, local_jobs, urls, cwd)
    if checkout["is_git"] and info["origin"] in by_url:
        checkout["remote"] = by_url[info["origin"]]
    for entry, r in zip(repos, info["repos"]):
        if r.get("url") in by_url:
            entry["remote"] = by_url[r["url"]]


def probe(ctx):
    deadline = time.monotonic() + budget(ctx.timeout)
    webui_dir = ctx.webui_dir
    facts = {"platform": ctx.platform, "webui_dir": webui_dir, "offline": bool(ctx.offline),
             "timeout": ctx.timeout, "settings_file": settings_file(ctx)}
    git = gitprobe.find_git(ctx, deadline)
    facts["git"] = dict(git)
    installed = any(os.path.isfile(os.path.join(webui_dir, n)) for n in ("launch.py", "webui.bat", "webui.sh"))
    info = gitprobe.remotes(ctx)
    facts["checkout"] = {"installed": installed, "is_git": os.path.exists(os.path.join(webui_dir, ".git")),
                         "origin": redact(info["origin"]) if info["origin"] else None, "local": None, "remote": None}
    facts["launch_utils"] = info["launch_utils"]
    facts["launcher_notes"] = [n for n in ctx.launcher.notes if n["for"].startswith("repositories")]
    facts["flavour"] = ctx.launcher.flavour_label
    repos_dir = os.path.join(webui_dir, "repositories")
    facts["repos"] = _repo_entries(info, repos_dir, ctx.launch["variables"], ctx.platform == "windows")
    known = set(r["folder"] for r in facts["repos"] if r.get("folder"))
    facts["other_repositories"], _ = git_clones.other_clones(repos_dir, known)
    facts["extensions"], facts["extensions_total"] = git_clones.other_clones(
        os.path.join(webui_dir, "extensions"), limit=MAX_EXTENSIONS, need_git=True)
    if git.get("path") and not git.get("error"):
        _probe_clones(ctx, facts, info, git["path"], deadline)
    return facts


# -- judging -----------------------------------------------------------------------------------------------------

def _install_git_advice(platform):
    if platform == "windows":
        return T("Install Git for Windows (https://git-scm.com/download/win) and tick \"Git from the command line\", "
                 "or set GIT= in webui-user.bat to the full path of git.exe.",
                 "安装 Git for Windows（https://git-scm.com/download/win）并勾选 \"Git from the command line\"，"
                 "或在 webui-user.bat 中把 GIT= 设为 git.exe 的完整路径。")
    if platform == "darwin":
        return T("Install git: xcode-select --install (or brew install git).",
                 "安装 git：xcode-select --install（或 brew install git）。")
    return T("Install git with your package manager, e.g. sudo apt install git.", "用包管理器安装 git，例如 sudo apt install git。")


def _reason(remote, timeout):
    state = remote.get("state")
    reasons = {
        "timeout": T("no answer within {s} s", "{s} 秒内无应答", s="%g" % timeout),
        "dns": T("the host name does not resolve (\"Could not resolve host\")", "主机名无法解析（\"Could not resolve host\"）"),
        "refused": T("the connection failed (\"Failed to connect\")", "连接失败（\"Failed to connect\"）"),
        "proxy": T("the proxy refused the tunnel", "代理拒绝建立隧道"),
        "proxy-dns": T("the proxy's host name does not resolve", "代理的主机名无法解析"),
        "proxy-auth": T("the proxy asks for credentials (407)", "代理要求身份验证（407）"),
    }
    return reasons.get(state, T("git failed", "git 执行失败"))


# States whose reason already quotes git's message: its full stderr line would only repeat it.
_SAID = ("timeout", "dns", "refused")


def _detail(remote):
    return (" (%s)" % remote["detail"]) if remote.get("detail") else ""


def _via(proxy):
    return T(" through proxy {p}", "（经由代理 {p}）", p=proxy) if proxy else ""


def _local_ok_for_launch(local):
    """The launcher needs no network for this repository: cloned and at (or holding) its pinned commit."""
    return bool(local) and local.get("state") in ("ok", "other-commit")


def judge(facts):
    f = Finding(ID, TITLE)
    platform = facts["platform"]
    git = facts.get("git") or {}
    checkout = facts.get("checkout") or {}
    timeout = facts.get("timeout", 5)

    # git itself
    if not git.get("path"):
        if git.get("source") not in (None, "default"):
            f.error(T("git was not found: GIT in {s} is {c}, which does not exist.",
                      "找不到 git：{s} 中的 GIT 为 {c}，该文件不存在。", s=git.get("source"), c=git.get("command")),
                    _install_git_advice(platform))
        else:
            f.error(T("git was not found on PATH: the launcher cannot clone its repositories.",
                      "PATH 中找不到 git：启动脚本无法克隆所需的仓库。"), _install_git_advice(platform))
    elif git.get("error"):
        f.error(T("{p} does not run: {e}", "{p} 无法运行：{e}", p=git["path"], e=git["error"]), _install_git_advice(platform))
    else:
        f.ok(T("git {v} ({p})", "git {v}（{p}）", v=git.get("version") or "?", p=git["path"]))

    # the web UI checkout
    origin_down = None  # unreachable for a reason the repositories may share: said once with them
    if not checkout.get("installed"):
        f.ok(T("The web UI is not installed here yet.", "此处尚未安装 web UI。"))
    elif not checkout.get("is_git"):
        f.warn(T("The web UI folder is not a git checkout (a ZIP download?): updates are impossible.",
                 "web UI 文件夹不是 git 检出（是下载的 ZIP 吗？）：无法更新。"),
               T("Install it with git instead:\n{c}", "请改用 git 安装：\n{c}",
                 c="git clone https://github.com/AUTOMATIC1111/stable-diffusion-webui.git"))
    else:
        f.ok(T("The web UI is a git checkout of {o}.", "web UI 是 {o} 的 git 检出。", o=checkout.get("origin") or "?"))
        _judge_local(f, platform, T("The web UI folder", "web UI 文件夹"), facts.get("webui_dir"), checkout.get("local"),
                     level="error", is_clone=False)
        remote = checkout.get("remote")
        if remote and remote.get("state") != "reachable":
            if remote.get("state") == "gone":
                f.warn(T("The web UI's origin {u} is gone or asks for credentials{d}: updates will fail.",
                         "web UI 的 origin {u} 已不存在或要求身份验证{d}：更新会失败。", u=checkout.get("origin"),
                         d=_detail(remote)))
            elif remote.get("state") in _SAID:
                origin_down = {"via": "", "reason": _reason(remote, timeout), "url": checkout.get("origin")}
            else:
                f.warn(T("Cannot reach the web UI's origin {u}: {r}{d}; updates will fail.",
                         "无法访问 web UI 的 origin {u}：{r}{d}；更新会失败。", u=checkout.get("origin"),
                         r=_reason(remote, timeout), d=_detail(remote)))

    _judge_repos(f, facts, platform, timeout, checkout, origin_down)
    _judge_extensions(f, facts, platform)
    return f


def _judge_repos(f, facts, platform, timeout, checkout, origin_down):
    """The repositories the launcher clones, and the other clones in repositories/."""
    repos = facts.get("repos") or []
    for note in facts.get("launcher_notes") or []:
        f.add("skip", T("{f} could not be read as Python ({w}): the repositories it clones are unknown.",
                        "无法按 Python 读取 {f}（{w}）：不知道它要克隆哪些仓库。", f=note["file"], w=note["why"]))
    if checkout.get("installed") and not facts.get("launch_utils"):
        f.warn(T("No launcher file that clones repositories could be read (modules/launch_utils.py, launch.py or the "
                 "2022 webui.bat): the repositories were not checked.",
                 "无法读取任何会克隆仓库的启动文件（modules/launch_utils.py、launch.py 或 2022 年版 webui.bat）：未检查所需仓库。"))
    elif facts.get("launch_utils"):
        f.ok(T("{fl} clones {n} repositories ({f}).", "{fl} 会克隆 {n} 个仓库（{f}）。", fl=facts.get("flavour") or "web UI",
               n=len(repos), f=facts["launch_utils"]))
    pending = [_judge_repo(f, platform, repo, timeout, bool(facts.get("offline")), facts.get("settings_file"))
               for repo in repos]
    _judge_unreachable(f, [p for p in pending if p], origin_down)
    reachable = sum(1 for repo in repos if (repo.get("remote") or {}).get("state") == "reachable")
    if facts.get("offline"):
        f.ok(T("Remote probes skipped (--offline); local checks done.", "已跳过远程探测（--offline）；本地检查已完成。"))
    elif repos and reachable == len(repos):
        f.ok(T("All {n} repositories the launcher clones are reachable.", "启动脚本要克隆的 {n} 个仓库均可访问。", n=len(repos)))
    for other in facts.get("other_repositories") or []:
        _judge_local(f, platform, T("repositories/{n}", "repositories/{n}", n=other["name"]), other["path"],
                     other.get("local"), level="warn", is_clone=True)


# A folder of 200 broken extensions (a copied install, a drive restored from backup) is the same problem 200 times:
# the first few are told in full, the rest by name.
SHOWN_BROKEN_EXTENSIONS = 10
NAMED_BROKEN_EXTENSIONS = 30


def _judge_extensions(f, facts, platform):
    extensions = facts.get("extensions") or []
    broken = [ext for ext in extensions if _local_problem(ext.get("local"))]
    for ext in broken[:SHOWN_BROKEN_EXTENSIONS]:
        _judge_local(f, platform, T("Extension {n}", "扩展 {n}", n=ext["name"]), ext["path"], ext.get("local"),
                     level="warn", is_clone=True, extension=True)
    rest = [ext["name"] for ext in broken[SHOWN_BROKEN_EXTENSIONS:]]
    if rest:
        names = ", ".join(rest[:NAMED_BROKEN_EXTENSIONS])
        if len(rest) > NAMED_BROKEN_EXTENSIONS:
            names = T("{a} and {k} others", "{a} 以及另外 {k} 个", a=names, k=len(rest) - NAMED_BROKEN_EXTENSIONS)
        f.warn(T("{n} more extensions have problems of the same kinds: {names}.",
                 "另有 {n} 个扩展存在同类问题：{names}。", n=len(rest), names=names),
               T("Deal with the ones above first, then run sd-doctor again for the next ones.",
                 "先处理上面列出的扩展，再运行 sd-doctor 查看其余的。"))
    if extensions and not broken:
        f.ok(T("{n} extension repositories are healthy.", "{n} 个扩展仓库状态正常。", n=len(extensions)))
    if facts.get("extensions_total", 0) > len(extensions):
        f.ok(T("Only the first {n} extensions were checked.", "只检查了前 {n} 个扩展。", n=len(extensions)))


def _local_problem(local):
    """Whether _judge_local has something to say about an extension's clone."""
    return bool(local) and local.get("state") in ("dubious", "not-a-clone", "invalid", "no-commit", "timeout")


def _judge_local(f, platform, label, path, local, level, is_clone, extension=False, commit=None):
    """Report a clone's local problem; returns True when there was one."""
    if not local:
        return False
    state = local.get("state")
    add = f.error if level == "error" else f.warn
    if state == "dubious":
        add(T("{w}: \"fatal: detected dubious ownership in repository\" (made by another account, or on exFAT/FAT32).",
              "{w}：\"fatal: detected dubious ownership in repository\"（由其他账户创建，或位于 exFAT/FAT32 上）。", w=label),
            T("Mark it safe for git:\n{c}", "将其标记为 git 可信目录：\n{c}",
              c=_safe_directory(platform, path)))
        return True
    if state in ("not-a-clone", "invalid") and is_clone:
        if extension:
            add(T("{w} is not a valid git clone ({d}): it cannot be updated.", "{w} 不是有效的 git 克隆（{d}）：无法更新。",
                  w=label, d=T("it has no .git", "其中没有 .git") if state == "not-a-clone" else local.get("detail") or "?"),
                T("Delete it and install the extension again:\n{c}", "删除后重新安装该扩展：\n{c}",
                  c=delete_folder_command(platform, path)))
        else:
            add(T("{w} is not a valid clone ({d}).", "{w} 不是有效的克隆（{d}）。", w=label,
                  d=T("it has no .git", "其中没有 .git") if state == "not-a-clone" else local.get("detail") or "?"),
                T("Delete the folder; the launcher clones it again on the next start:\n{c}",
                  "删除该文件夹，下次启动时会重新克隆：\n{c}", c=delete_folder_command(platform, path)))
            f.remedies.append({"action": "rename-aside", "path": path})
        return True
    if state == "invalid":
        add(T("{w}: git cannot read it ({d}).", "{w}：git 无法读取（{d}）。", w=label, d=local.get("detail") or "?"))
        return True
    if state == "no-commit":
        add(T("{w} lacks its pinned commit {c} (\"fatal: reference is not a tree\", \"Couldn't checkout commit\").",
              "{w} 缺少固定的提交 {c}（\"fatal: reference is not a tree\"、\"Couldn't checkout commit\"）。",
              w=label, c=commit or (local.get("detail") or "").rsplit(" ", 1)[-1]),
            T("Delete the folder; the launcher clones it again on the next start:\n{c}",
              "删除该文件夹，下次启动时会重新克隆：\n{c}", c=delete_folder_command(platform, path)))
        f.remedies.append({"action": "rename-aside", "path": path})
        return True
    if state == "timeout":
        f.warn(T("{w}: git did not answer in time; not checked.", "{w}：git 未能及时应答，未检查。", w=label))
        return True
    return False


def _safe_directory(platform, path):
    from sd_doctor.probes.git import safe_directory_command

    return safe_directory_command(platform, path)


def _judge_repo(f, platform, repo, timeout, offline, where=None):
    folder = repo.get("folder") or repo["url_var"]
    label = T("repositories/{n}", "repositories/{n}", n=folder)
    local = repo.get("local") or {}
    path = repo.get("path")
    problem = False
    if path:
        problem = _judge_local(f, platform, label, path, local, level="error", is_clone=True, commit=repo.get("commit"))
    needs_network = not _local_ok_for_launch(local)
    remote = repo.get("remote")
    url = repo.get("url") or "?"
    is_sd = repo["url_var"] == SD_REPO_VAR
    deleted_default = is_sd and _DELETED_SD in url.lower().replace("http://", "").replace("https://", "")
    state = (remote or {}).get("state")
    add = f.error if needs_network else f.warn
    if is_sd and (state == "gone" or (deleted_default and state != "reachable")):
        add(T("The Stable Diffusion repository {u} is gone or asks for credentials (the default one was deleted in "
              "December 2025, #17204): installing stops at \"Couldn't clone Stable Diffusion\".",
              "Stable Diffusion 仓库 {u} 已不存在或要求身份验证（默认仓库已于 2025 年 12 月被删除，#17204）："
              "安装会停在 \"Couldn't clone Stable Diffusion\"。", u=url),
            T("Use the maintainers' mirror: {l}", "改用维护者提供的镜像：{l}",
              l=put_line(platform, where, SD_REPO_VAR, SD_MIRROR)))
        f.proposals[SD_REPO_VAR] = SD_MIRROR
        return
    if remote is None or state == "reachable":
        if offline and needs_network and not problem and local.get("state") == "missing":
            f.ok(T("{w} will be cloned from {u} on first start.", "首次启动时会从 {u} 克隆 {w}。", w=label, u=url))
        return
    if state == "gone":
        add(T("Repository {u} ({v}) is gone or asks for credentials{d}.", "仓库 {u}（{v}）已不存在或要求身份验证{d}。",
              u=url, v=repo["url_var"], d=_detail(remote)),
            T("Point {v} at a working copy of it: {l}", "把 {v} 指向一个可用的副本：{l}", v=repo["url_var"],
              l=put_line(platform, where, repo["url_var"], "<URL>")))
        return
    if not needs_network:
        f.ok(T("{u} is unreachable ({r}), but {w} is already cloned at its pinned commit.",
               "{u} 无法访问（{r}），但 {w} 已克隆且包含固定的提交。", u=url, r=_reason(remote, timeout), w=label))
        return
    return {"url": url, "label": label, "folder": folder, "via": _via(repo.get("proxy")),
            "reason": _reason(remote, timeout), "detail": _detail(remote), "state": state}


_NETWORK_ADVICE = T("Check the network connection and the proxy settings (see the check \"Proxy\"), then try again.",
                    "请检查网络连接和代理设置（见“代理”检查项）后重试。")


def _judge_unreachable(f, unreachable, origin_down=None):
    """One line per cause: five repositories that fail for the same reason through the same proxy are one finding
    that names them all, with the advice said once; the web UI's own origin joins them when its cause is the same."""
    groups = []
    if origin_down is not None:
        same = [i for i in unreachable if (i["via"], i["reason"]) == ("", origin_down["reason"])]
        if same:
            f.error(T("Cannot reach the web UI's origin nor {n} repositories: {r}; updates will fail and the launcher "
                      "cannot clone repositories/{l}.", "无法访问 web UI 的 origin 和 {n} 个仓库：{r}；更新会失败，"
                      "启动脚本也无法克隆 repositories/{l}。", n=len(same), r=origin_down["reason"],
                      l=", ".join(i["folder"] for i in same)), _NETWORK_ADVICE)
            unreachable = [i for i in unreachable if i not in same]
        else:
            f.warn(T("Cannot reach the web UI's origin {u}: {r}; updates will fail.",
                     "无法访问 web UI 的 origin {u}：{r}；更新会失败。", u=origin_down["url"], r=origin_down["reason"]),
                   _NETWORK_ADVICE)
    for item in unreachable:
        key = (item["via"], item["reason"])
        for group in groups:
            if group[0] == key:
                group[1].append(item)
                break
        else:
            groups.append((key, [item]))
    for (via, reason), items in groups:
        first = items[0]
        if len(items) == 1:
            f.error(T("Cannot reach {u}{p}: {r}{d}; the launcher cannot clone {w}.",
                      "无法访问 {u}{p}：{r}{d}；启动脚本无法克隆 {w}。", u=first["url"], p=via, r=reason,
                      d=first["detail"], w=first["label"]), _NETWORK_ADVICE)
            continue
        # The URLs stay in the facts (--verbose, --json); the line names the folders the launcher cannot clone.
        f.error(T("Cannot reach {n} repositories{p}: {r}{d}; the launcher cannot clone repositories/{l}.",
                  "无法访问 {n} 个仓库{p}：{r}{d}；启动脚本无法克隆 repositories/{l}。", n=len(items), p=via, r=reason,
                  d="" if first["state"] in _SAID else first["detail"], l=", ".join(i["folder"] for i in items)),
                _NETWORK_ADVICE)
