"""Merges the plan and the checks' proposals into the web UI's settings file (issue: the settings writer and --fix).

Which file (webui-facts.md §2, §3, §8): ``webui-user.bat`` for current Windows installs; ``webui.settings.bat`` where
webui.bat calls it and either an updater overwrites webui-user.bat (one-click packages), the file already exists (it
is read after webui-user.bat, so it wins), or the 2022 webui.bat calls it after hard-coding its own values;
``webui-user.sh`` on Linux and macOS.

Only the lines sd-doctor owns (``set NAME=`` / ``NAME=`` for the variables below) change; every other byte of the file
stays as it was. A line is rewritten only when the launcher would otherwise see a different value, so an empty plan
changes nothing and a second ``--fix`` changes nothing.
"""

import os

from sd_doctor.formats import args as argquote
from sd_doctor.write import atomic
from sd_doctor.core.errors import UserError
from sd_doctor.core.text import T
from sd_doctor.write.args_plan import ArgsPlan
from sd_doctor.write.doc import read_target, read_template, templates_dir, unified_diff
from sd_doctor.write.doc import oem_codec
from sd_doctor.write.merge import apply_merge, merge_values
from sd_doctor.write.wanted import wanted_values


__all__ = ["settings", "choose_target", "write_reason", "templates_dir", "read_template"]


# -- which file -----------------------------------------------------------------------------------------------------

def choose_target(ctx):
    """The settings file this run writes: decided once, in the launcher model (launcher/target.py)."""
    return ctx.launcher.target


# -- the whole step -------------------------------------------------------------------------------------------------

_WRITE_REASONS = {
    "changed": T("{f} changed on disk while sd-doctor was running; run it again",
                 "sd-doctor 运行期间 {f} 被修改了；请重新运行"),
    "verify": T("it did not read back as written", "写入后读回的内容不一致"),
    "locked": T("another sd-doctor --fix is writing {f} right now; run again when it has finished",
                "另一个 sd-doctor --fix 正在写入 {f}；请等它结束后重新运行"),
    "read-only": T("{f} is read-only; make it writable first if you want sd-doctor to change it",
                   "{f} 是只读文件；如需让 sd-doctor 修改，请先取消只读"),
    "symlink-outside": T("{f} is a symbolic link to a file outside the web UI folder; edit that file yourself",
                         "{f} 是指向 web UI 文件夹之外的符号链接；请自行编辑该文件"),
    "hard-link": T("{f} has other hard links; replacing it would split them, so edit it yourself",
                   "{f} 还有其他硬链接；替换它会断开这些链接，请自行编辑"),
    "not-a-file": T("{f} is not a regular file", "{f} 不是普通文件"),
}


def write_reason(reason, name):
    """The user's words for a WriteFailed reason (an OS error's text passes through)."""
    message = _WRITE_REASONS.get(reason)
    return T(message.en, message.zh, f=name) if message is not None else reason


def _fail(target, reason):
    return UserError(T("cannot write {f}: {r}; nothing was changed.", "无法写入 {f}：{r}；没有做任何改动。", f=target.path,
                       r=reason))


class _Step(object):
    """One run of the writer: what is wanted, the file, the merge and the result being built."""

    def __init__(self, ctx, findings, plan):
        self.ctx = ctx
        self.findings = findings
        self.plan = plan
        self.fix = bool(ctx.options.fix)
        self.target = choose_target(ctx)
        self.want, props = wanted_values(ctx, findings, self.target)
        for name, (value, reason) in sorted((plan.variables if plan else {}).items()):
            self.want.values.append((name, value, reason))  # TORCH_COMMAND: a value without cmd's active characters
        self.args = ArgsPlan(ctx, plan, props, self.target.dialect == "bat")
        target = self.target
        self.lines = [T("Launch settings: {f}", "启动设置：{f}", f=target.path or "-"),
                      T("  Why this file: {w}", "  为什么是这个文件：{w}", w=target.why)]
        self.result = {"file": target.path, "why": target.why,
                       "commandline_args": list(plan.commandline_args) if plan else [],
                       "reasons": dict(plan.reasons) if plan else {}, "variables": {}, "diff": "", "changed": False,
                       "applied": False, "backup": None, "warnings": [], "notes": list(plan.notes) if plan else [],
                       "remedies": [], "blocked": target.blocked}
        self.doc = self.snap = self.merge = self.new_bytes = None

    def refuse_or_warn(self, message):
        """Under --fix (and a writable target) a reason to stop; otherwise a warning of the report."""
        if self.fix and not self.target.blocked:
            raise _fail(self.target, message)

    def read_and_merge(self):
        target, result = self.target, self.result
        values = [(n, v) for n, v, _ in self.want.values]
        if self.args.wanted():
            values.append(("COMMANDLINE_ARGS", self.args))
        problems = list(self.want.problems)
        result["warnings"].extend(self.want.left_out)
        if target.dialect is not None:
            self.snap, self.doc, error = read_target(self.ctx, target)
            if error is not None:
                self.refuse_or_warn(error)
                result["warnings"].append(T("{f} cannot be read: {e}.", "无法读取 {f}：{e}。", f=target.name, e=error))
                self.doc = None
        if self.doc is not None:
            self.merge = merge_values(self.ctx, self.doc, target, values,
                                      oem_codec(self.ctx) if target.dialect == "bat" else None)
            problems.extend(self.merge.problems)
            result["warnings"].extend(self.merge.warnings)
        result["warnings"].extend(self.args.warnings)
        if problems:
            self.refuse_or_warn(" ".join(p.render(self.ctx.options.lang) for p in problems))
            result["warnings"].extend(problems)

    def record_values(self):
        result, args, merge = self.result, self.args, self.merge
        if args.tokens is not None:
            result["commandline_args"] = list(args.tokens)
            result["reasons"].update(args.reasons)
        for name, value, _ in self.want.values:
            result["variables"][name] = value
        if args.tokens is not None and (self.plan is not None or args.port
                                        or (merge and "COMMANDLINE_ARGS" in merge.changed_names)):
            try:
                result["variables"]["COMMANDLINE_ARGS"] = argquote.join(args.tokens)
            except argquote.BadArgs:
                pass  # already reported by ArgsPlan

    def make_diff(self):
        merge, doc, result = self.merge, self.doc, self.result
        if merge is None or not (merge.edits or merge.inserts or merge.drop_bom or merge.to_lf):
            return
        self.new_bytes = apply_merge(merge)
        result["changed"] = self.new_bytes != doc.to_bytes() or not self.snap.exists
        if not result["changed"]:
            return
        old_text = doc.text() if self.snap.exists else ""
        new_text = self.new_bytes[0 if merge.drop_bom else len(doc.bom):].decode(doc.encoding)  # the BOM may be gone
        notes = (["(byte-order mark removed)"] if merge.drop_bom else []) + (["(CRLF -> LF)"] if merge.to_lf else [])
        result["diff"] = "\n".join(filter(None, [unified_diff(self.target.name, old_text, new_text)] + notes))

    def report_values(self):
        result, lines = self.result, self.lines
        for w in result["warnings"]:
            lines.append(T("  ! {w}", "  ! {w}", w=w))
        if result["commandline_args"] or self.plan is not None:
            lines.append(T("  COMMANDLINE_ARGS: {a}", "  COMMANDLINE_ARGS：{a}",
                           a=" ".join(argquote.quote(t) for t in result["commandline_args"])
                           if result["commandline_args"] else T("(empty)", "（空）")))
            for flag, reason in self.args.reasons.items():  # the planner's own lines (its notes) follow below
                lines.append(T("    {f}: {r}", "    {f}：{r}", f=flag, r=reason))
            lines.extend(T("    {n}", "    {n}", n=note) for note in result["notes"])
        for name, value, reason in self.want.values:
            lines.append(T("  {n}={v}: {r}", "  {n}={v}：{r}", n=name, v=value, r=reason))
        target = self.target
        if result["changed"]:
            lines.append(T("  Changes to {f}:", "  {f} 的改动：", f=target.name))
            lines.extend(T("    {l}", "    {l}", l=d) for d in result["diff"].splitlines())
        elif target.dialect is not None and self.doc is not None:
            if self.snap.exists:
                lines.append(T("  No change: {f} already gives the launcher these values.",
                               "  无需改动：{f} 已经给出这些值。", f=target.name))
            else:
                lines.append(T("  No change needed; {f} is not created.", "  无需改动；不会创建 {f}。", f=target.name))

    def write(self):
        target, lines, result = self.target, self.lines, self.result
        if result["changed"]:
            if target.blocked:
                lines.append(T("  Not written: {r}", "  未写入：{r}", r=target.blocked))
            elif not self.fix:
                lines.append(T("  Not written: run sd-doctor --fix to apply this (the old file is kept as a backup).",
                               "  未写入：运行 sd-doctor --fix 以应用（旧文件会保留备份）。"))
            else:
                self.apply()
        elif target.blocked and target.dialect is None:
            lines.append(T("  Not written: {r}", "  未写入：{r}", r=target.blocked))
            if self.ctx.options.no_venv and self.ctx.layout.get("generation") == "2022":
                lines.append(T("  Or, as the old guides did, edit webui.bat itself: change the line set VENV_DIR=venv to "
                               "set VENV_DIR= (empty skips the venv in this generation).",
                               "  或者按旧教程的做法直接编辑 webui.bat：把 set VENV_DIR=venv 这一行改成 set VENV_DIR=（在这一代中，"
                               "空值表示不使用 venv）。"))

    def apply(self):
        target, result = self.target, self.result
        _check_readback(self.ctx, target, self.merge, result, self.args, self.new_bytes)
        try:
            backup = atomic.replace(self.snap, self.new_bytes)
        except atomic.WriteFailed as exc:
            raise _fail(target, write_reason(exc.reason, target.name))
        result["applied"] = True
        result["backup"] = backup
        if backup:
            self.lines.append(T("  Written: {f}; the old file is kept as {b}.", "  已写入：{f}；旧文件保留为 {b}。",
                                f=target.path, b=os.path.basename(backup)))
        else:
            self.lines.append(T("  Created: {f}.", "  已创建：{f}。", f=target.path))

    def remedies(self):
        from sd_doctor.write import remedies

        entries, remedy_lines = remedies.apply(self.ctx, self.findings, self.fix)
        self.result["remedies"] = entries
        if remedy_lines:
            self.lines.append(T("  Remedies:", "  修复操作："))
            self.lines.extend(remedy_lines)
        if not (self.result["commandline_args"] or self.plan is not None):
            self.lines.extend(self.result["notes"])


def settings(ctx, findings, plan):
    """(JSON 'settings' dict (values may be T) or None, report lines [T])."""
    step = _Step(ctx, findings, plan)
    step.read_and_merge()
    step.record_values()
    step.make_diff()
    step.report_values()
    step.write()
    step.remedies()
    return step.result, step.lines


def _check_readback(ctx, target, merge, result, args, new_bytes):
    """Refuse a webui-user.sh that bash would not read as planned (see write/readback.py)."""
    if target.dialect != "sh":
        return
    from sd_doctor.write.readback import sh_reads_back

    expected = dict((n, result["variables"].get(n)) for n in merge.changed_names
                    if isinstance(result["variables"].get(n), str))
    why = sh_reads_back(new_bytes, expected, args.tokens, timeout=max(2.0, ctx.options.timeout))
    if why:
        raise _fail(target, T("bash does not read the new {f} as planned ({w})",
                              "bash 读取新的 {f} 的结果与计划不一致（{w}）", f=target.name, w=why))
