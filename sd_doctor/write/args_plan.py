"""What COMMANDLINE_ARGS becomes: the plan's tokens, translated onto the user's own spelling of the value."""

from sd_doctor.formats import args as argquote
from sd_doctor.core.text import T
from sd_doctor.launcher import settings as launch_settings

# -- COMMANDLINE_ARGS -----------------------------------------------------------------------------------------------

class ArgsPlan(object):
    """What COMMANDLINE_ARGS should become, decided once the current raw value in the file is known."""

    def __init__(self, ctx, plan, props, windows):
        self.ctx = ctx
        self.plan = plan
        self.port = props.get("port")
        self.windows = windows
        self.tokens = None  # the tokens the launcher will see after the merge
        self.warnings = []
        self.reasons = {}

    def wanted(self):
        return self.plan is not None or bool(self.port) or self.windows

    def __call__(self, raw):
        actual = argquote.split(raw)
        meant = actual
        if self.windows:
            repair = argquote.windows_repair(raw)
            if repair is not None:
                meant = repair[1]
                self.warnings.append(T("COMMANDLINE_ARGS has Windows paths without quotes; the web UI splits it like a "
                                       "POSIX shell and gets {a} instead of {m}. --fix quotes them.",
                                       "COMMANDLINE_ARGS 中有未加引号的 Windows 路径；web UI 按 POSIX shell 规则拆分，"
                                       "得到的是 {a} 而不是 {m}。--fix 会给它们加上引号。",
                                       a=" ".join(actual) if actual is not None else "(No closing quotation)",
                                       m=" ".join(meant)))
        if meant is None:
            self.warnings.append(T("COMMANDLINE_ARGS cannot be split (No closing quotation); fix its quotes by hand: {v}",
                                   "COMMANDLINE_ARGS 无法拆分（No closing quotation）；请手动修正其中的引号：{v}", v=raw))
            self.tokens = None
            return None
        base = list(meant)
        if self.plan is not None:
            # what the planner started from: the repaired value (plan/flags.py), or the web UI's split of it
            starts = [launch_settings.planning_args(self.ctx.launch), self.ctx.commandline_args]
            seen = next((s for s in starts if s is not None and len(s) == len(meant)), starts[0])
            planned = list(self.plan.commandline_args)
            if seen is not None and len(seen) == len(meant):
                translate = {}
                for start in [s for s in starts if s is not None and len(s) == len(meant)]:
                    translate.update((s, m) for s, m in zip(start, meant) if s != m)
                base = [translate.get(t, t) for t in planned]
            elif seen is None:
                removed = set(self.plan.removed)
                base = [t for t in meant if t not in removed] + [t for t in planned if t not in meant]
            else:
                base = planned
        if self.port:
            base = argquote.set_flag(base, "--port", str(self.port))
            self.reasons["--port"] = T("the port check: use port {p}", "“端口”检查项：使用端口 {p}", p=self.port)
        self.tokens = base
        if base == actual:
            return None
        try:
            return argquote.join(base)
        except argquote.BadArgs:
            self.warnings.append(T("COMMANDLINE_ARGS cannot be quoted for the web UI: {t}", "无法为 web UI 给 COMMANDLINE_ARGS "
                                   "加引号：{t}", t=" ".join(base)))
            return None
