"""gpu: not built yet (see its issue)."""

from sd_doctor.finding import Finding
from sd_doctor.text import T

ID = "gpu"
TITLE = T("gpu", "gpu")


def probe(ctx):
    return {}


def judge(facts):
    f = Finding(ID, TITLE)
    f.skip(T("Not implemented yet.", "尚未实现。"))
    return f
