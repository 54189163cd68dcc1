"""A one-line status on the terminal naming the checks still running, rewritten in place (like flutter doctor's).

Only on a terminal, only on stderr, never with --json, and the line is always cleared when the run ends (also on
Ctrl+C and on errors: it is a context manager). The runner names each check's thread ``check-<id>``; the status
reads those names, so the runner needs no hook.
"""

import sys
import threading
import time

from sd_doctor.core.text import T, render
from sd_doctor.report.wrap import width

PREFIX = "check-"


def running_checks():
    return [t.name[len(PREFIX):] for t in threading.enumerate() if t.name.startswith(PREFIX) and t.is_alive()]


class Progress(object):
    def __init__(self, stream, lang, enabled, columns=80, interval=0.1, titles=None):
        self.stream = stream
        self.lang = lang
        self.enabled = enabled
        self.columns = columns
        self.interval = interval
        self.titles = titles or {}
        self._stop = threading.Event()
        self._thread = None
        self._shown = 0  # columns the status line takes on the screen

    def __enter__(self):
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, name="sd-doctor-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
            self._thread = None
        self._clear()

    def title(self, check_id):
        """The check's own title (its module is loaded by then: the runner started it)."""
        module = sys.modules.get("sd_doctor.checks." + check_id.replace("-", "_"))
        return self.titles.get(check_id) or getattr(module, "TITLE", None) or check_id

    def line(self, names):
        shown = (u"\u3001" if self.lang == "zh" else ", ").join(render(self.title(n), self.lang) for n in names)
        text = render(T("Still checking: {l}", "仍在检查：{l}", l=shown), self.lang)
        limit = max(10, self.columns - 1)
        while width(text) > limit:
            text = text[:-2]
        return text

    def _loop(self):
        start = time.monotonic()
        while not self._stop.wait(self.interval):
            names = running_checks()
            if names and time.monotonic() - start >= 0.3:  # quick runs show no status at all
                line = self.line(names)
                self._write(self._blank() + line, shown=width(line))

    # Spaces, not an escape sequence: every console (an old Windows one too, NO_COLOR) clears a line this way.
    def _blank(self):
        return "\r%s\r" % (" " * self._shown) if self._shown else "\r"

    def _clear(self):
        if self._shown:
            self._write(self._blank(), shown=0)

    def _write(self, text, shown):
        try:
            self.stream.write(text)
            self.stream.flush()
            self._shown = shown
        except (OSError, ValueError, UnicodeEncodeError):
            pass
