"""More trials of the measured reliability suite than CI runs: python3 benchmarks/faults.py [KILLS] [FUZZ_FILES]."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv):
    kills = argv[1] if len(argv) > 1 else "400"
    fuzz = argv[2] if len(argv) > 2 else "5000"
    env = dict(os.environ, SD_DOCTOR_KILL_TRIALS=kills, SD_DOCTOR_FUZZ_FILES=fuzz)
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "-s", "tests/test_reliability_kill.py",
                            "tests/test_reliability_fuzz.py", "tests/test_reliability_faults.py"], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
