"""Start every check at once, wait at most until the deadline, and return findings in a stable order.

A check is a module in ``sd_doctor.checks`` with ``ID``, ``TITLE``, ``probe(ctx) -> facts`` and
``judge(facts) -> Finding``. Probes bound their own subprocesses and sockets; the runner's deadline is the last
guard: a probe still running then is reported as ``skip`` and abandoned (its thread is a daemon). A check that
raises is a ``crash`` (a bug), which fails the run.
"""

import importlib
import threading
import time

from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T

# The report's order. Module names are the ids with '-' as '_'.
CHECK_IDS = ("install-path", "python", "path", "venv", "disk", "windows", "proxy", "git", "downloads", "port", "gpu")


def load_check(check_id):
    return importlib.import_module("sd_doctor.checks." + check_id.replace("-", "_"))


class _Unloadable(object):
    """Stands in for a check module that cannot be imported: its probe raises the import error (-> skip)."""

    def __init__(self, check_id, exc):
        self.ID = check_id
        self.TITLE = T(check_id, check_id)
        self._exc = exc

    def probe(self, ctx):
        raise self._exc

    def judge(self, facts):
        raise self._exc


def run_one(module, ctx):
    start = time.monotonic()
    try:
        facts = module.probe(ctx)
        finding = module.judge(facts)
        finding.facts = facts
    except OSError as exc:  # the machine's fault (a failing disk, a denied read): the check cannot judge, it says why
        finding = Finding(module.ID, module.TITLE)
        finding.skip(T("The probe failed: {err}", "探测失败：{err}", err="%s: %s" % (exc.__class__.__name__, exc)))
    except Exception as exc:  # a bug in the check must not take the run down, nor hide: a 'crash' that says where
        finding = Finding(module.ID, module.TITLE)
        finding.crash(T("The check crashed: {err}", "检查崩溃：{err}", err="%s: %s" % (exc.__class__.__name__, exc)))
    finding.elapsed = time.monotonic() - start
    return finding


def run_checks(ctx, check_ids=CHECK_IDS, deadline=None):
    """Run the checks concurrently; returns the findings in ``check_ids`` order."""
    if deadline is None:
        deadline = ctx.timeout + 0.8
    modules = []
    results = {}
    threads = []
    for check_id in check_ids:
        try:
            module = load_check(check_id)
        except Exception as exc:  # a broken check module costs that check only
            module = _Unloadable(check_id, exc)
        modules.append(module)

        def target(m=module):
            results[m.ID] = run_one(m, ctx)

        thread = threading.Thread(target=target, name="check-" + check_id, daemon=True)
        thread.start()
        threads.append(thread)
    end = time.monotonic() + deadline
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    findings = []
    for module in modules:
        finding = results.get(module.ID)
        if finding is None:
            finding = Finding(module.ID, module.TITLE)
            seconds = "%.1f" % deadline
            finding.skip(T("Did not finish within {s} s; skipped.", "未能在 {s} 秒内完成，已跳过。", s=seconds))
            finding.elapsed = deadline
        findings.append(finding)
    return findings
