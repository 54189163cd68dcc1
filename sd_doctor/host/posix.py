"""Facts shared by Linux and macOS."""

import os

from sd_doctor.host.base import Host


class PosixHost(Host):
    def usual_python_locations(self):
        home = os.path.expanduser("~")
        root = os.environ.get("PYENV_ROOT") or os.path.join(home, ".pyenv")
        return [
            os.path.join(root, "versions", "3.10*", "bin", "python3.10"),
            "/usr/bin/python3.10",
            "/usr/local/bin/python3.10",
            "/opt/homebrew/bin/python3.10",
            "/opt/homebrew/opt/python@3.10/bin/python3.10",
            "/Library/Frameworks/Python.framework/Versions/3.10/bin/python3.10",
            os.path.join(home, "miniconda3", "envs", "*", "bin", "python3.10"),
            os.path.join(home, "anaconda3", "envs", "*", "bin", "python3.10"),
        ]
