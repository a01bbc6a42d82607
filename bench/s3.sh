#!/usr/bin/env bash
# The S3 benchmark: trailcheck against `aws cloudtrail validate-logs` on the same simulated
# trails in a loopback moto_server (see bench/s3.py for the cases and targets).
#
#   bench/s3.sh [--case latency|cpu] [--rounds N]
#
# Builds the release binary, then runs bench/s3.py with the Python that has awscli, moto and
# boto3 ($PYTHON, default python3; scripts/test installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
cargo build --release --quiet
exec "$PYTHON" bench/s3.py --trailcheck target/release/trailcheck "$@"
