"""The command line: ``sd-doctor [WEBUI_DIR] [--fix] [--json] [--lang en|zh] [--offline] [--timeout S] ...``.

Start-up is kept light (``--version`` imports nothing beyond argparse); probes import what they need lazily.
"""

import argparse
import os
import sys

from sd_doctor import __version__
from sd_doctor.core.errors import (EXIT_BROKEN_PIPE, EXIT_FINDINGS, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK,
                                   OutputClosed, UserError)
from sd_doctor.core.text import T

DEFAULT_TIMEOUT = 5.0


def detect_lang(argv, host_locales):
    """--lang when given (even before the parser runs, so its own errors are in that language), else the locale."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return "zh" if argv[i + 1] == "zh" else "en"
        if arg.startswith("--lang="):
            return "zh" if arg.split("=", 1)[1] == "zh" else "en"
    for name in host_locales:
        return "zh" if name.lower().startswith("zh") else "en"
    return "en"


class _Parser(argparse.ArgumentParser):
    lang = "en"

    def error(self, message):
        raise UserError(T("invalid command line: {m} (see --help)", "命令行参数无效：{m}（见 --help）", m=message))

    def parse_args(self, args=None, namespace=None):
        with argparse_language(self.lang):
            return argparse.ArgumentParser.parse_args(self, args, namespace)

    def format_help(self):
        with argparse_language(self.lang):
            text = argparse.ArgumentParser.format_help(self)
        if self.lang == "zh":  # argparse ends a group's title with an ASCII colon; Chinese takes the full-width one
            for title in (u"位置参数", u"选项"):
                text = text.replace(u"\n%s:\n" % title, u"\n%s\uff1a\n" % title)
        return text


# argparse's own texts (it looks them up through gettext at the moment it prints them).
_ARGPARSE_ZH = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "optional arguments": "选项",
    "options": "选项",
    "show this help message and exit": "显示此帮助信息并退出",
    "show program's version number and exit": "显示程序版本号并退出",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "expected one argument": "需要一个参数值",
    "expected at most one argument": "最多需要一个参数值",
    "expected at least one argument": "至少需要一个参数值",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的取值：%(value)r（可选：%(choices)s）",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "ambiguous option: %(option)s could match %(matches)s": "有歧义的选项：%(option)s 可匹配 %(matches)s",
    "invalid %(type)s value: %(value)r": "无效的 %(type)s 值：%(value)r",
    "ignored explicit argument %r": "忽略了显式给出的参数 %r",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
}


class argparse_language(object):
    """Within the block argparse speaks ``lang`` (its gettext lookups go through this table)."""

    def __init__(self, lang):
        self.lang = lang

    def __enter__(self):
        self.saved = argparse._, getattr(argparse, "ngettext", None)
        if self.lang == "zh":
            argparse._ = lambda text: _ARGPARSE_ZH.get(text, text)
            if self.saved[1] is not None:
                argparse.ngettext = lambda one, many, n: _ARGPARSE_ZH.get(one if n == 1 else many, one if n == 1 else many)
        return self

    def __exit__(self, *exc):
        argparse._ = self.saved[0]
        if self.saved[1] is not None:
            argparse.ngettext = self.saved[1]
        return False


def _number_in_range(convert, low, high, unit, lang):
    """An argparse type: a number within [low, high], with a message that names the range (not a function name)."""

    def parse(value):
        try:
            number = convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError(T("{v!r} is not a number of {u}", "{v!r} 不是以{u}为单位的数字",
                                               v=value, u=unit).render(lang))
        if not (low <= number <= high):
            raise argparse.ArgumentTypeError(T("{v} is not between {lo} and {hi} {u}", "{v} 不在 {lo} 到 {hi} {u}之间",
                                               v=value, lo=low, hi=high, u=unit).render(lang))
        return number

    return parse


def _check_id(value):
    from sd_doctor.core.runner import CHECK_IDS

    if value not in CHECK_IDS:
        raise argparse.ArgumentTypeError("%r (%s)" % (value, ", ".join(CHECK_IDS)))
    return value


def build_parser(lang):
    with argparse_language(lang):  # argparse names its groups and -h/--version when they are made
        return _build_parser(lang)


def _build_parser(lang):
    h = lambda en, zh: zh if lang == "zh" else en
    p = _Parser(prog="sd-doctor", description=h(
        "Check this machine before the Stable Diffusion web UI runs, and write its launch settings.",
        "在运行 Stable Diffusion web UI 之前检查本机，并写入它的启动设置。"))
    p.lang = lang
    p.add_argument("webui_dir", nargs="?", default=".", metavar="WEBUI_DIR",
                   help=h("the web UI folder, or where it will be installed (default: current folder)",
                          "web UI 所在文件夹，或准备安装的位置（默认：当前文件夹）"))
    p.add_argument("--fix", action="store_true",
                   help=h("write the launch settings and apply the safe remedies (with a backup)",
                          "写入启动设置并执行安全的修复（会先备份）"))
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help=h("print a JSON document only", "只输出 JSON 文档"))
    output.add_argument("--report", action="store_true",
                        help=h("print a redacted Markdown report to paste into a web UI issue",
                               "输出一份已隐去隐私信息的 Markdown 报告，可直接贴到 web UI 的 issue 中"))
    p.add_argument("--lang", choices=("en", "zh"), help=h("language of the report (default: from the locale)",
                                                          "报告语言（默认跟随系统区域设置）"))
    p.add_argument("--offline", action="store_true", help=h("skip the network checks", "跳过网络检查"))
    p.add_argument("--timeout", type=_number_in_range(float, 0.1, 600, h("seconds", "秒"), lang),
                   default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=h("bound for the network probes (default 5)", "网络探测的时限（默认 5 秒）"))
    p.add_argument("-v", "--verbose", action="store_true",
                   help=h("show the facts behind each finding, each check's time and the full settings diff",
                          "显示每项结论背后的事实、耗时和设置文件的完整改动"))
    p.add_argument("--check", action="append", type=_check_id, metavar="ID",
                   help=h("run only this check (repeatable; no settings are planned then); see --list-checks",
                          "只运行这一项检查（可重复；此时不规划启动设置）；见 --list-checks"))
    p.add_argument("--list-checks", action="store_true", help=h("list the checks and exit", "列出所有检查项后退出"))
    p.add_argument("--resolution", type=_number_in_range(int, 64, 8192, h("pixels", "像素"), lang), default=512,
                   metavar="N", help=h("image size you plan to generate, in pixels (default 512)",
                                       "计划生成的图片边长（像素，默认 512）"))
    p.add_argument("--oom", action="store_true",
                   help=h("I still get CUDA out of memory with the current flags", "当前参数下仍然出现 CUDA out of memory"))
    p.add_argument("--no-venv", action="store_true",
                   help=h("launch without the web UI's venv (e.g. conda users)", "不使用 web UI 的 venv 启动（例如 conda 用户）"))
    p.add_argument("--version", action="version", version="sd-doctor " + __version__)
    return p


def _print_error(message, lang):
    from sd_doctor.core.redact import redact

    try:
        sys.stderr.write("sd-doctor: %s\n" % redact(message.render(lang)))
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # stderr closed too: the exit code is all that is left


def _silence_stdout():
    """After a closed stdout, point fd 1 at the null device so no later flush raises ("Exception ignored ...")."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


def emit(text):
    """Write to stdout; a closed pipe or a full device becomes OutputClosed (a quiet exit 120, as pip does)."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except (OSError, ValueError) as exc:
        raise OutputClosed(exc)


def entry():
    """The program's entry point: main(), then leave at once, without joining abandoned probe threads at exit."""
    code = main()
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        _silence_stdout()
        code = code if code != EXIT_OK else EXIT_BROKEN_PIPE
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)


def _interrupted(lang):
    import signal

    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C while we clean up prints no traceback
    except (ValueError, OSError):
        pass  # not the main thread (a test calling main() in a thread)
    from sd_doctor.host import procs

    procs.kill_all()
    _print_error(T("interrupted", "已中断"), lang)
    return EXIT_INTERRUPTED


_run_lang = ["en"]  # the language the run settled on, for an interrupt caught by core.interrupts


def _end_interrupted():
    return _interrupted(_run_lang[0])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--version" in argv:  # fast path: no platform probing at all
        sys.stdout.write("sd-doctor %s\n" % __version__)
        return EXIT_OK
    lang = "en"
    from sd_doctor.core import interrupts

    interrupts.catch_swallowed(_end_interrupted)
    try:
        from sd_doctor import host as platforms

        host = platforms.current()
        lang = detect_lang(argv, host.locale_names())
        _run_lang[0] = lang
        _make_output_safe()
        args = build_parser(lang).parse_args(argv)
        return run(args, host, lang)
    except UserError as exc:
        _print_error(exc.message, lang)
        return exc.code
    except OutputClosed:
        _silence_stdout()  # like pip: a reader that went away (| head) is not an error worth a message
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return _interrupted(lang)
    except Exception as exc:  # never a traceback for the user; one line that can be reported
        _print_error(T("internal error: {e}; please report it with --verbose output",
                       "内部错误：{e}；请附上 --verbose 的输出报告此问题", e="%s: %s" % (exc.__class__.__name__, exc)), lang)
        if os.environ.get("SD_DOCTOR_DEBUG"):
            raise
        return EXIT_INTERNAL


def _make_output_safe():
    """A console that cannot show a character prints '?' instead of raising UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError):
            pass


def can_show_chinese(stream):
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        u"\u68c0\u67e5\uff1a\u4f60".encode(encoding)  # 检查：你
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def list_checks(lang):
    from sd_doctor.core.runner import CHECK_IDS, load_check

    for check_id in CHECK_IDS:
        sys.stdout.write("%-13s %s\n" % (check_id, load_check(check_id).TITLE.render(lang)))
    return EXIT_OK


def _webui_dir(given):
    """The web UI folder given on the command line, absolute; a one-line error when it cannot be one."""
    try:
        given = os.path.expanduser(given)
        webui_dir = given if os.path.isabs(given) else os.path.join(os.getcwd(), given)
        webui_dir = os.path.normpath(webui_dir)
    except OSError:  # getcwd() of a deleted folder
        raise UserError(T("the current folder no longer exists (it was deleted or moved); cd to the web UI folder and "
                          "run again", "当前文件夹已不存在（被删除或移动）；请 cd 到 web UI 文件夹后重新运行"))
    if os.path.exists(webui_dir) and not os.path.isdir(webui_dir):
        raise UserError(T("{p} exists but is not a folder; give the web UI folder", "{p} 存在但不是文件夹；请给出 web UI 文件夹",
                          p=webui_dir))
    return webui_dir


def run(args, host, lang):
    from sd_doctor.core.context import Context, Options
    from sd_doctor.core.finding import CRASH, ERROR
    from sd_doctor.core.runner import CHECK_IDS, run_checks

    lang = args.lang or lang
    if lang == "zh" and not args.json and not can_show_chinese(sys.stdout):
        sys.stderr.write("sd-doctor: this console cannot show Chinese (encoding %s); the report is in English.\n"
                         % (getattr(sys.stdout, "encoding", None) or "unknown"))
        lang = "en"
    if args.list_checks:
        return list_checks(lang)
    if args.check and args.fix:
        raise UserError(T("--fix needs every check (the settings depend on all of them); leave out --check",
                          "--fix 需要运行全部检查（启动设置取决于所有检查项）；请去掉 --check", ))
    webui_dir = _webui_dir(args.webui_dir)
    options = Options(fix=args.fix, json=args.json, lang=lang, offline=args.offline,
                      timeout=args.timeout, verbose=args.verbose, resolution=args.resolution, oom=args.oom,
                      no_venv=args.no_venv)
    from sd_doctor.launcher.model import build as build_launcher

    ctx = Context(webui_dir, options, host=host, launcher_factory=build_launcher)
    from sd_doctor.report.text import header

    # On a console the header comes at once, before the checks; piped, the output stays all-or-nothing (a run that
    # ends in a one-line error leaves stdout empty).
    early = not (args.json or args.report) and _tty(sys.stdout)
    if early:
        emit(header(ctx, __version__, sys.stdout))
    check_ids = [c for c in CHECK_IDS if c in args.check] if args.check else CHECK_IDS
    with _progress(ctx, lang, enabled=not args.json):
        findings = run_checks(ctx, check_ids)
    from sd_doctor.report.json import to_json

    try:
        settings, settings_lines = plan_and_write(ctx, findings) if not args.check else (None, [])
    except UserError as exc:
        if args.json:  # a program reading --json still gets its document, with the reason
            emit(to_json(ctx, findings, {"error": exc.message}, __version__, sys.stdout) + "\n")
        raise
    if args.json:
        emit(to_json(ctx, findings, settings, __version__, sys.stdout) + "\n")
    elif args.report:
        from sd_doctor.report.markdown import to_markdown

        emit(to_markdown(ctx, findings, settings, __version__))
    else:
        from sd_doctor.report.text import body

        emit(("" if early else header(ctx, __version__, sys.stdout)) + body(ctx, findings, settings_lines, sys.stdout,
                                                                             settings))
    crashed = [f for f in findings if f.status == CRASH]
    if crashed:
        raise UserError(T("the {c} check crashed (a bug in sd-doctor); please report it with --verbose output",
                          "{c} 检查崩溃了（sd-doctor 的缺陷）；请附上 --verbose 的输出报告此问题",
                          c=", ".join(f.id for f in crashed)), code=EXIT_INTERNAL)
    return EXIT_FINDINGS if any(f.status == ERROR for f in findings) else EXIT_OK


def _tty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _progress(ctx, lang, enabled):
    """The status line on stderr: only when both streams are a terminal (not piped, not --json)."""
    from sd_doctor.report.progress import Progress
    from sd_doctor.report.text import columns_for

    enabled = enabled and _tty(sys.stderr) and _tty(sys.stdout) and ctx.environ.get("TERM") != "dumb"
    return Progress(sys.stderr, lang, enabled, columns=columns_for(sys.stderr) or 80)


def plan_and_write(ctx, findings):
    """The planner's flags and the writer's result: (JSON 'settings' dict or None, text lines for the report)."""
    from sd_doctor.plan import flags as planner
    from sd_doctor.write import settings as writer

    by_id = dict((f.id, f) for f in findings)
    plan = planner.plan(ctx, by_id)
    return writer.settings(ctx, by_id, plan)
