"""Settings lines shown in advice, made by the formatters ``--fix`` writes with (formats.bat.set_line for a .bat
file, formats.sh.assignment_line for a .sh file), so the line a user pastes is the line ``--fix`` would write, for
values with ``& % ! $`` and spaces too."""

from sd_doctor.core.text import T
from sd_doctor.formats import bat, sh


def default_file(platform_name):
    return "webui-user.bat" if platform_name == "windows" else "webui-user.sh"


def settings_line(platform_name, name, value, export=False):
    """The line that sets ``name`` to ``value`` in the platform's settings file. ``export``: the variable is for the
    web UI's child processes (a proxy, a ROCm override), so bash must export it even where --fix never writes it
    (formats.sh exports the names it writes; webui.sh's own variables stay unexported)."""
    try:
        if platform_name == "windows":
            return bat.set_line(name, value)
        line = sh.assignment_line(name, value)
    except (bat.UnsafeValue, sh.UnsafeValue):  # a value --fix refuses too: shown as it is, for a human to judge
        return ("set %s=%s" if platform_name == "windows" else "%s=%s") % (name, value)
    return "export " + line if export and not line.startswith("export ") else line


def put_lines(platform_name, where, pairs, sentence=False):
    """Advice: put these lines ([(name, value)]) in ``where`` (the settings file; the platform's default when None);
    ``sentence``: the advice stands alone (a capital first letter), else it continues another sentence."""
    lines = "\n".join(settings_line(platform_name, n, v) for n, v in pairs)
    where = where or default_file(platform_name)
    if len(pairs) == 1:
        if sentence:
            return T("Put this line in {f}:\n{l}", "在 {f} 中写入这一行：\n{l}", f=where, l=lines)
        return T("put this line in {f}:\n{l}", "在 {f} 中写入这一行：\n{l}", f=where, l=lines)
    if sentence:
        return T("Put these lines in {f}:\n{l}", "在 {f} 中写入以下几行：\n{l}", f=where, l=lines)
    return T("put these lines in {f}:\n{l}", "在 {f} 中写入以下几行：\n{l}", f=where, l=lines)


def put_line(platform_name, where, name, value):
    return put_lines(platform_name, where, [(name, value)])
