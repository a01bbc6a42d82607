# Sourced by scripts/test and tests/awscli/selftest.sh: start and stop the loopback servers
# the AWS CLI comparison needs. Needs $PYTHON (an interpreter with moto[server] installed).
#
#   awscli_start_servers LOGDIR   starts moto_server and stub.py on free 127.0.0.1 ports and
#                                 sets AWSCLI_S3_URL and AWSCLI_STUB_URL
#   awscli_stop_servers           stops what awscli_start_servers started (safe to call twice)
#
# Callers: trap awscli_stop_servers EXIT, and trap 'exit 143' TERM INT so a signal runs it too.

AWSCLI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
AWSCLI_REPO=$(cd "$AWSCLI_DIR/../.." && pwd)
AWSCLI_PIDS=()
AWSCLI_START_TIMEOUT=${AWSCLI_START_TIMEOUT:-30}

awscli_free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# awscli_wait_http URL PID SECONDS: until URL answers HTTP (any status) or PID dies or time is up.
awscli_wait_http() {
  "$PYTHON" - "$1" "$2" "$3" <<'EOF'
import os, sys, time, urllib.error, urllib.request
url, pid, deadline = sys.argv[1], int(sys.argv[2]), time.monotonic() + float(sys.argv[3])
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(2)
    try:
        urllib.request.urlopen(url, timeout=2).read()
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

awscli_start_servers() {
  local logdir=$1 port attempt started
  mkdir -p "$logdir"
  AWSCLI_S3_URL= AWSCLI_STUB_URL=
  started=$(date +%s.%N)
  # moto picks no port itself: take a free one, and try again if someone grabs it first.
  for attempt in 1 2 3; do
    port=$(awscli_free_port)
    "$PYTHON" -m moto.server -H 127.0.0.1 -p "$port" >"$logdir/moto.log" 2>&1 &
    AWSCLI_PIDS+=($!)
    if awscli_wait_http "http://127.0.0.1:$port/" "$!" "$AWSCLI_START_TIMEOUT"; then
      AWSCLI_S3_URL="http://127.0.0.1:$port"
      break
    fi
    kill "$!" 2>/dev/null || true
    wait "$!" 2>/dev/null || true
    unset 'AWSCLI_PIDS[-1]'
  done
  if [ -z "$AWSCLI_S3_URL" ]; then
    echo "moto_server did not start; its log:" >&2
    cat "$logdir/moto.log" >&2
    return 1
  fi
  AWSCLI_MOTO_SECONDS=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')

  rm -f "$logdir/stub.port"
  "$PYTHON" "$AWSCLI_DIR/stub.py" --port 0 --port-file "$logdir/stub.port" \
    --keys "$AWSCLI_REPO/keys/test-keys.json" >"$logdir/stub.log" 2>&1 &
  AWSCLI_PIDS+=($!)
  local waited=0
  until [ -s "$logdir/stub.port" ]; do
    if ! kill -0 "$!" 2>/dev/null || [ "$waited" -ge $((AWSCLI_START_TIMEOUT * 20)) ]; then
      echo "stub.py did not start; its log:" >&2
      cat "$logdir/stub.log" >&2
      return 1
    fi
    sleep 0.05
    waited=$((waited + 1))
  done
  AWSCLI_STUB_URL="http://127.0.0.1:$(cat "$logdir/stub.port")"
  awscli_wait_http "$AWSCLI_STUB_URL/admin/health" "$!" "$AWSCLI_START_TIMEOUT"
}

awscli_stop_servers() {
  local pid
  for pid in "${AWSCLI_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${AWSCLI_PIDS[@]}"; do
    # moto's dev server exits on SIGTERM; give each a moment, then insist.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  AWSCLI_PIDS=()
}
