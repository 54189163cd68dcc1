"""The clones a web UI holds, probed at once: bounded ``git`` runs on a thread pool (local health of each clone, one
``git ls-remote`` per distinct remote URL), each result filled into the entry it belongs to.

Every wait ends by the caller's deadline; a probe that fails or does not answer in time gets a state of its own,
so one stuck repository never hides the others' results.
"""

import os
import time

from sd_doctor.probes import git as gitprobe

LOCAL_TIMEOUT = {"state": "timeout", "detail": "git did not answer in time"}
REMOTE_TIMEOUT = {"state": "timeout", "detail": "no answer within the time limit"}


def listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def wait_all(futures, deadline, on_timeout):
    """The futures' results in order; ``on_timeout`` (a copy) for one still running at the deadline."""
    from concurrent.futures import TimeoutError as FutureTimeout

    out = []
    for future in futures:
        try:
            out.append(future.result(timeout=max(0.0, deadline + 0.3 - time.monotonic())))
        except FutureTimeout:
            out.append(dict(on_timeout))
        except Exception as exc:  # a probe thread failing must not hide the others' results
            out.append({"state": "error", "detail": "%s: %s" % (exc.__class__.__name__, exc)})
    return out


def other_clones(folder, known=(), limit=None, need_git=False):
    """[{'name', 'path', 'local': None}] for the sub-folders of ``folder`` not in ``known`` (only those holding .git
    with ``need_git``), sorted, at most ``limit``; and how many there were."""
    names = sorted(n for n in listdir(folder) if n not in known and (
        os.path.exists(os.path.join(folder, n, ".git")) if need_git else os.path.isdir(os.path.join(folder, n))))
    return [{"name": n, "path": os.path.join(folder, n), "local": None} for n in names[:limit]], len(names)


def probe_all(git_path, env, deadline, local_jobs, remote_urls, cwd=None):
    """Run ``local_health`` for each (entry, path, commit) of ``local_jobs`` into entry['local'], and ``ls_remote`` for
    each distinct URL of ``remote_urls``; returns {url: result}."""
    from concurrent.futures import ThreadPoolExecutor

    remote_pool = ThreadPoolExecutor(max_workers=8)
    local_pool = ThreadPoolExecutor(max_workers=8)
    try:
        # Remote probes first: they take longest. One probe per distinct URL.
        remote_futures = {}
        for url in remote_urls:
            if url not in remote_futures:
                remote_futures[url] = remote_pool.submit(gitprobe.ls_remote, git_path, url, env, deadline, cwd)
        local_futures = [local_pool.submit(gitprobe.local_health, git_path, path, env, deadline, commit)
                         for _, path, commit in local_jobs]
        for (entry, _, _), result in zip(local_jobs, wait_all(local_futures, deadline, LOCAL_TIMEOUT)):
            entry["local"] = result
        urls = list(remote_futures)
        return dict(zip(urls, wait_all([remote_futures[u] for u in urls], deadline, REMOTE_TIMEOUT)))
    finally:
        remote_pool.shutdown(wait=False)
        local_pool.shutdown(wait=False)
