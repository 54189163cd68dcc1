"""Everything a probe may need, computed once and shared by the checks (which run concurrently)."""

import os
import threading

from sd_doctor import host as platforms


class Options(object):
    def __init__(self, fix=False, json=False, lang="en", offline=False, timeout=5.0, verbose=False,
                 resolution=512, oom=False, no_venv=False):
        self.fix = fix
        self.json = json
        self.lang = lang
        self.offline = offline
        self.timeout = timeout
        self.verbose = verbose
        self.resolution = resolution
        self.oom = oom
        self.no_venv = no_venv


class Context(object):
    def __init__(self, webui_dir, options, host=None, environ=None):
        self.webui_dir = os.path.abspath(webui_dir)
        self.options = options
        self.host = host or platforms.current()
        self.platform = self.host.name
        self.environ = dict(os.environ if environ is None else environ)
        self._lock = threading.Lock()
        self._cache = {}
        self._locks = {}

    @property
    def timeout(self):
        return self.options.timeout

    @property
    def offline(self):
        return self.options.offline

    def cached(self, key, compute):
        """``compute()`` once per key, even when several checks ask at the same time."""
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            value = compute()
            with self._lock:
                self._cache[key] = value
            return value

    @property
    def layout(self):
        from sd_doctor.launcher import layout as webui

        return self.cached("layout", lambda: webui.describe(self.webui_dir, timeout=min(2.0, self.timeout)))

    @property
    def launch(self):
        from sd_doctor.launcher import settings as launch_settings

        return self.cached("launch", lambda: launch_settings.read(self.webui_dir, self.platform, self.environ,
                                                                   self.layout))

    @property
    def commandline_args(self):
        from sd_doctor.launcher import settings as launch_settings

        return launch_settings.commandline_args(self.launch)
