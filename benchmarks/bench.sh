#!/usr/bin/env bash
# Start-up and full-run times of sd-doctor, measured with hyperfine (falls back to bash's `time`).
#   benchmarks/bench.sh [PYTHON]      (default: python3; run from anywhere)
# Cases: `python -c pass` (the floor), `sd-doctor --version` (lazy imports: should stay within 2.5x the floor),
# a full `--offline` run on a stand-in web UI folder, and a full run whose proxies point at a loopback "black hole"
# (a listener that accepts and never answers) with --timeout 1, which must end near the timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-python3}"
PY="$("$PY" -c "import sys; print(sys.executable)")"  # past pyenv shims
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" NO_COLOR=1 LC_ALL=C.UTF-8
WORK="$(mktemp -d)"
HOLE_PID=""
cleanup() { [ -n "$HOLE_PID" ] && kill "$HOLE_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

mkdir -p "$WORK/webui"
printf '# stand-in\n' > "$WORK/webui/launch.py"
printf '#!/bin/bash\n' > "$WORK/webui/webui.sh"

# the black hole: accepts connections on 127.0.0.1 and never answers
"$PY" - "$WORK/port" <<'PYEOF' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(100)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
while True:
    held.append(s.accept()[0])
PYEOF
HOLE_PID=$!
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
HOLE="http://127.0.0.1:$(cat "$WORK/port")"
HOLE_ENV="env HTTP_PROXY=$HOLE HTTPS_PROXY=$HOLE ALL_PROXY=$HOLE http_proxy=$HOLE https_proxy=$HOLE NO_PROXY="

echo "python: $PY ($("$PY" -c 'import sys; print(sys.version.split()[0])')), $(nproc) cores"
if command -v hyperfine >/dev/null 2>&1; then
  hyperfine -N --warmup 3 --runs 20 --export-markdown "$WORK/startup.md" \
    -n "python -c pass" "$PY -c pass" \
    -n "sd-doctor --version" "$PY -m sd_doctor --version"
  hyperfine -N -i --warmup 1 --runs 10 --export-markdown "$WORK/full.md" \
    -n "sd-doctor --offline DIR" "$PY -m sd_doctor --offline $WORK/webui"
  hyperfine -i --warmup 1 --runs 5 --export-markdown "$WORK/hole.md" \
    -n "sd-doctor --timeout 1 DIR (black-hole proxy)" "$HOLE_ENV $PY -m sd_doctor --timeout 1 $WORK/webui"
  cat "$WORK/startup.md" "$WORK/full.md" "$WORK/hole.md"
else
  for cmd in "$PY -c pass" "$PY -m sd_doctor --version" "$PY -m sd_doctor --offline $WORK/webui" \
             "$HOLE_ENV $PY -m sd_doctor --timeout 1 $WORK/webui"; do
    echo "== $cmd"
    time (for _ in 1 2 3 4 5; do $cmd >/dev/null 2>&1 || true; done)
  done
fi
