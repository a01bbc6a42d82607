#!/usr/bin/env bash
# Proves the AWS CLI harness on its own: starts moto and the key stub on free loopback ports,
# runs selftest.py's cases against the real `aws cloudtrail validate-logs`, stops the servers.
# Needs awscli, moto[server], boto3 and cryptography (scripts/test installs them).
# Usage: tests/awscli/selftest.sh [selftest.py options and case names]
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
source ./lib.sh

logs=$(mktemp -d "${TMPDIR:-/tmp}/awscli-selftest-logs.XXXXXX")
child=
cleanup() {
  [ -z "$child" ] || kill "$child" 2>/dev/null || true
  awscli_stop_servers
  rm -rf "$logs"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

started=$(date +%s.%N)
awscli_start_servers "$logs"
echo "selftest: moto up in ${AWSCLI_MOTO_SECONDS}s at $AWSCLI_S3_URL, key stub at $AWSCLI_STUB_URL"
status=0
# In the background so that a TERM or INT reaches the trap at once, not after the cases.
timeout "${AWSCLI_SELFTEST_TIMEOUT:-600}" "$PYTHON" selftest.py --s3 "$AWSCLI_S3_URL" --stub "$AWSCLI_STUB_URL" "$@" &
child=$!
wait "$child" || status=$?
child=
echo "selftest: took $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
if [ "$status" -ne 0 ]; then
  echo "selftest: FAILED (exit $status); moto log tail:" >&2
  tail -n 20 "$logs/moto.log" >&2 || true
fi
exit "$status"
