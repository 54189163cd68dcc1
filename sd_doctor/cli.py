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


def _number_in_range(convert, low, high, unit):
    """An argparse type: a number within [low, high], with a message that names the range (not a function name)."""

    def parse(value):
        try:
            number = convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not a number of %s" % (value, unit))
        if not (low <= number <= high):
            raise argparse.ArgumentTypeError("%s is not between %s and %s %s" % (value, low, high, unit))
        return number

    return parse


_positive_seconds = _number_in_range(float, 0.1, 600, "seconds")
_resolution = _number_in_range(int, 64, 8192, "pixels")


def build_parser(lang):
    h = lambda en, zh: zh if lang == "zh" else en
    p = _Parser(prog="sd-doctor", description=h(
        "Check this machine before the Stable Diffusion web UI runs, and write its launch settings.",
        "在运行 Stable Diffusion web UI 之前检查本机，并写入它的启动设置。"))
    p.add_argument("webui_dir", nargs="?", default=".", metavar="WEBUI_DIR",
                   help=h("the web UI folder, or where it will be installed (default: current folder)",
                          "web UI 所在文件夹，或准备安装的位置（默认：当前文件夹）"))
    p.add_argument("--fix", action="store_true",
                   help=h("write the launch settings and apply the safe remedies (with a backup)",
                          "写入启动设置并执行安全的修复（会先备份）"))
    p.add_argument("--json", action="store_true", help=h("print a JSON document only", "只输出 JSON 文档"))
    p.add_argument("--lang", choices=("en", "zh"), help=h("language of the report (default: from the locale)",
                                                          "报告语言（默认跟随系统区域设置）"))
    p.add_argument("--offline", action="store_true", help=h("skip the network checks", "跳过网络检查"))
    p.add_argument("--timeout", type=_positive_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=h("bound for the network probes (default 5)", "网络探测的时限（默认 5 秒）"))
    p.add_argument("--verbose", action="store_true",
                   help=h("show the facts behind each finding and each check's time", "显示每项结论背后的事实和耗时"))
    p.add_argument("--resolution", type=_resolution, default=512, metavar="N",
                   help=h("image size you plan to generate, in pixels (default 512)", "计划生成的图片边长（像素，默认 512）"))
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


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--version" in argv:  # fast path: no platform probing at all
        sys.stdout.write("sd-doctor %s\n" % __version__)
        return EXIT_OK
    lang = "en"
    try:
        from sd_doctor import host as platforms

        host = platforms.current()
        lang = detect_lang(argv, host.locale_names())
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


def run(args, host, lang):
    from sd_doctor.core.context import Context, Options
    from sd_doctor.core.finding import CRASH, ERROR
    from sd_doctor.report.render import to_json, to_text
    from sd_doctor.core.runner import run_checks

    try:
        given = os.path.expanduser(args.webui_dir)
        webui_dir = given if os.path.isabs(given) else os.path.join(os.getcwd(), given)
        webui_dir = os.path.normpath(webui_dir)
    except OSError:  # getcwd() of a deleted folder
        raise UserError(T("the current folder no longer exists (it was deleted or moved); cd to the web UI folder and "
                          "run again", "当前文件夹已不存在（被删除或移动）；请 cd 到 web UI 文件夹后重新运行"))
    if os.path.exists(webui_dir) and not os.path.isdir(webui_dir):
        raise UserError(T("{p} exists but is not a folder; give the web UI folder", "{p} 存在但不是文件夹；请给出 web UI 文件夹",
                          p=webui_dir))
    options = Options(fix=args.fix, json=args.json, lang=args.lang or lang, offline=args.offline,
                      timeout=args.timeout, verbose=args.verbose, resolution=args.resolution, oom=args.oom,
                      no_venv=args.no_venv)
    ctx = Context(webui_dir, options, host=host)
    findings = run_checks(ctx)
    try:
        settings, settings_lines = plan_and_write(ctx, findings)
    except UserError as exc:
        if args.json:  # a program reading --json still gets its document, with the reason
            emit(to_json(ctx, findings, {"error": exc.message}, __version__, sys.stdout) + "\n")
        raise
    if args.json:
        emit(to_json(ctx, findings, settings, __version__, sys.stdout) + "\n")
    else:
        emit(to_text(ctx, findings, settings_lines, __version__, sys.stdout))
    crashed = [f for f in findings if f.status == CRASH]
    if crashed:
        raise UserError(T("the {c} check crashed (a bug in sd-doctor); please report it with --verbose output",
                          "{c} 检查崩溃了（sd-doctor 的缺陷）；请附上 --verbose 的输出报告此问题",
                          c=", ".join(f.id for f in crashed)), code=EXIT_INTERNAL)
    return EXIT_FINDINGS if any(f.status == ERROR for f in findings) else EXIT_OK


def plan_and_write(ctx, findings):
    """The planner's flags and the writer's result: (JSON 'settings' dict or None, text lines for the report)."""
    from sd_doctor.plan import flags as planner
    from sd_doctor.write import settings as writer

    by_id = dict((f.id, f) for f in findings)
    plan = planner.plan(ctx, by_id)
    return writer.settings(ctx, by_id, plan)
