"""More trials of the measured reliability suite than CI runs: python3 benchmarks/faults.py [KILLS] [FUZZ_FILES]."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv):
    kills = argv[1] if len(argv) > 1 else "400"
    fuzz = argv[2] if len(argv) > 2 else "5000"
    env = dict(os.environ, SD_DOCTOR_KILL_TRIALS=kills, SD_DOCTOR_CLI_KILL_TRIALS=kills, SD_DOCTOR_FUZZ_FILES=fuzz,
               SD_DOCTOR_CONCURRENT_ROUNDS="40")
    tests = sorted(os.path.join("tests", n) for n in os.listdir(os.path.join(ROOT, "tests"))
                   if n.startswith("test_reliability_") and n.endswith(".py"))
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "-s"] + tests, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
