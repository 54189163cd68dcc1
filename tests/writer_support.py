"""Helpers for the settings writer's tests: a context for a given platform's facts, findings with proposals."""

import os

from sd_doctor.core.context import Context, Options
from sd_doctor.core.finding import Finding
from sd_doctor.host.base import Host
from sd_doctor.core.text import T, render

CLEAN_ENV = {"PATH": "/usr/bin:/bin"}


class FactsHost(Host):
    """The facts of another system (its name and code pages), for judging files as that system's launcher would.
    Nothing of the code under test is replaced: the writer reads ``ctx.host.code_pages()`` like on that system."""

    def __init__(self, name="windows", pages=(1252, 437)):
        self.name = name
        self.path_sep = ";" if name == "windows" else ":"
        self._pages = pages

    def code_pages(self):
        return self._pages if self.name == "windows" else None

    def locale_names(self):
        return ["en_US.UTF-8"]


def make_ctx(root, platform="windows", pages=(1252, 437), fix=False, no_venv=False, environ=None, lang="en"):
    options = Options(fix=fix, no_venv=no_venv, lang=lang, offline=True)
    from sd_doctor.launcher.model import build

    return Context(root, options, host=FactsHost(platform, pages), environ=dict(environ or CLEAN_ENV),
                   launcher_factory=build)


def findings(proposals=None, remedies=None, advice=()):
    """{id: Finding} carrying the given proposals (as the checks would emit them) and remedies."""
    out = {}
    f = Finding("python", T("Python", "Python"))
    f.proposals.update(proposals or {})
    for a in advice:
        f.advise(a)
    out["python"] = f
    if remedies:
        v = Finding("venv", T("venv", "venv"))
        v.remedies.extend(remedies)
        for r in remedies:
            v.advise(T("delete {p}", "删除 {p}", p=r["path"]))
        out["venv"] = v
    return out


def run_writer(ctx, proposals=None, plan=None, remedies=None):
    from sd_doctor.write import settings as writer

    result, lines = writer.settings(ctx, findings(proposals, remedies), plan)
    return result, "\n".join(render(lines, ctx.options.lang))


def read_bytes(path):
    with open(path, "rb") as fh:
        return fh.read()


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
