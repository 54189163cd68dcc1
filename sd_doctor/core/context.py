"""Everything a probe may need, computed once and shared by the checks (which run concurrently)."""

import os
import threading



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
    """``launcher_factory(ctx)`` builds the launcher model (``ctx.launcher``); core never imports the launcher layer,
    so the command line hands it in (sd_doctor.launcher.model.build). ``default_launcher_factory`` is the one used
    when none is given (the test suite sets it once in conftest.py)."""

    default_launcher_factory = None
    default_host_factory = None  # core never imports host/: the command line (or the tests) hand it in

    def __init__(self, webui_dir, options, host=None, environ=None, launcher_factory=None):
        self.webui_dir = os.path.abspath(webui_dir)
        self._launcher_factory = launcher_factory or Context.default_launcher_factory
        self.options = options
        if host is None and Context.default_host_factory is None:
            raise RuntimeError("this Context was made without a host")
        self.host = host or Context.default_host_factory()
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
    def launcher(self):
        """The launcher model, built once per run (see sd_doctor/launcher/model.py)."""
        factory = self._launcher_factory
        if factory is None:
            raise RuntimeError("this Context was made without a launcher_factory")
        return self.cached("launcher", lambda: factory(self))

    @property
    def layout(self):
        return self.launcher.layout

    @property
    def launch(self):
        """The variables the launcher sees (launcher/settings.read, in the launcher's environment)."""
        return self.launcher.settings

    @property
    def commandline_args(self):
        """COMMANDLINE_ARGS as the web UI splits it (POSIX shlex); None when it cannot be split."""
        import shlex

        try:
            return shlex.split(self.launch["variables"].get("COMMANDLINE_ARGS", ""))
        except ValueError:
            return None
