"""The Windows console the doctor writes to: who else is attached to it, its code page, and "Press Enter to close".

Double-clicked in Explorer, a console program gets a console of its own that closes the moment the program ends, so
the report would vanish before anyone read it. Such a program is the console's only process
(``GetConsoleProcessList``); started from cmd or PowerShell, the shell is attached too, and with its output
redirected to a pipe there may be no console at all. Off Windows every function here says "no console".
"""

import os
import sys


def console_process_ids():
    """Process ids attached to this process's console (``GetConsoleProcessList``); [] without a console or off
    Windows."""
    if sys.platform != "win32":
        return []
    try:
        import ctypes

        size = 64
        while True:
            ids = (ctypes.c_uint32 * size)()
            count = ctypes.windll.kernel32.GetConsoleProcessList(ids, size)
            if count <= size:  # 0 = no console (or the call failed); more than size = ask again with room for all
                return [int(i) for i in ids[:count]]
            size = count
    except Exception:
        return []


def launcher_process_id():
    """The parent process when it is this program's own launcher, else None.

    PyInstaller's one-file bootloader unpacks the program and runs it as a child on the same console, so a
    double-clicked sd-doctor.exe has two processes there: the bootloader (our parent) and us."""
    if getattr(sys, "frozen", False) and getattr(sys, "_MEIPASS", None):
        if os.path.normcase(os.path.abspath(sys._MEIPASS)) != os.path.normcase(os.path.dirname(sys.executable)):
            try:
                return os.getppid()
            except (AttributeError, OSError):
                return None
    return None


def alone_on_console(process_ids, own_id, launcher_id=None):
    """True when nothing but this program (and its own launcher) is attached to the console: nobody started it from
    a shell that would keep the window open. No console at all (output to a pipe or file): False."""
    if own_id not in process_ids:
        return False
    others = [p for p in process_ids if p not in (own_id, launcher_id)]
    return not others


def should_wait_for_enter(argv, process_ids=None, own_id=None, launcher_id=None):
    """Ask "Press Enter to close" at the end? Only when the window would vanish, and never for --json (a program
    reads that output, no person)."""
    if "--json" in argv:
        return False
    if process_ids is None:
        process_ids, own_id, launcher_id = console_process_ids(), os.getpid(), launcher_process_id()
    return alone_on_console(process_ids, own_id, launcher_id)


def wait_for_enter(prompt, stdin=None, stdout=None):
    """Print ``prompt`` and wait for a line (end of input or Ctrl+C end the wait too)."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    try:
        stdout.write("\n" + prompt + " ")
        stdout.flush()
        stdin.readline()
    except (EOFError, KeyboardInterrupt, OSError, ValueError):
        pass


def console_encoding(stream):
    """The encoding a Windows console shows ``stream`` in ('cp437', 'cp936', ...), or None when ``stream`` is no
    console (a pipe, a file) or off Windows.

    Python writes to a console in UTF-16 (so ``stream.encoding`` says 'utf-8'), but what the window can show is
    still its code page's repertoire: a check mark is a box or a '?' in a cp437 or cp936 window."""
    if sys.platform != "win32":
        return None
    try:
        if not stream.isatty():
            return None
        import ctypes

        page = int(ctypes.windll.kernel32.GetConsoleOutputCP())
        return "cp%d" % page if page else None
    except Exception:
        return None
