"""A Ctrl+C that Python would swallow.

A KeyboardInterrupt raised in a gc callback, a weakref callback or a ``__del__`` (CI saw one in the import lock's
callback) goes to ``sys.unraisablehook``: Python prints "Exception ignored in ..." with a traceback and the run goes on
as if never interrupted. The hook here ends the run as any other Ctrl+C does.
"""

import os
import sys
import threading


def catch_swallowed(on_interrupt):
    """Route a swallowed KeyboardInterrupt to ``on_interrupt()`` (which returns the exit code), then leave at once.
    Only the program's main thread installs it: tests also call main() in threads."""
    default = getattr(sys, "unraisablehook", None)
    if default is None or threading.current_thread() is not threading.main_thread():
        return

    def hook(unraisable):
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            default(unraisable)
            return
        code = on_interrupt()
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os._exit(code)

    sys.unraisablehook = hook
