#!/bin/sh
# One shard of a sharded run, as the Kubernetes Indexed Job and the AWS Batch array job start
# it: `run-shard SOURCE RESULTS N [validate options...]`.
#   SOURCE   s3://BUCKET[/PREFIX] to validate (read only)
#   RESULTS  s3://RESULTS-BUCKET/PREFIX for this run's results: shard-K-of-N.json and .xml
#   N        the number of shards; K comes from JOB_COMPLETION_INDEX or
#            AWS_BATCH_JOB_ARRAY_INDEX (trailcheck's --shard auto/N)
# For windows too, pass `--window auto/M --start-time T0 --end-time T1` as validate options
# and run N*M jobs: job i is shard i/M, window i%M (the results keep job i's name).
# With CHECKPOINTS=s3://STATE-BUCKET/PREFIX set, each shard keeps its checkpoint there
# (checkpoint-shard-K-of-N.json): fetched before the run, kept after it, so each night reads
# only what is new. No checkpoint there yet means a full run over the range; any other
# failure to read it stops the shard (exit 2) rather than silently validating everything.
# Keep that bucket apart from the results and the trail, writable by this job only.
# The shard's exit code is trailcheck's (0 intact, 1 tampered, 3 unverifiable, 2 usage), so
# the scheduler marks a tampered shard failed; the results are copied first either way.
set -u
source=$1 results=$2 shards=$3
shift 3
index=${JOB_COMPLETION_INDEX:-${AWS_BATCH_JOB_ARRAY_INDEX:-}}
name="shard-${index:-unknown}-of-$shards"
out=${TMPDIR:-/tmp}/$name
if [ -n "${CHECKPOINTS:-}" ]; then
  state="${CHECKPOINTS%/}/checkpoint-$name.json"
  bucket_key=${state#s3://}
  checkpoint="$out.checkpoint.json"
  rm -f "$checkpoint"
  if missing=$(aws s3api head-object --bucket "${bucket_key%%/*}" --key "${bucket_key#*/}" \
    2>&1 >/dev/null); then
    aws s3 cp --only-show-errors "$state" "$checkpoint" || exit 2
  elif printf '%s' "$missing" | grep -q "Not Found"; then
    echo "run-shard: no checkpoint at $state: a full run over the range" >&2
  else
    echo "run-shard: cannot read the checkpoint $state: $missing" >&2
    exit 2
  fi
  set -- "$@" --checkpoint "$checkpoint"
fi
trailcheck validate "$source" --shard "auto/$shards" --format junit \
  --report-json "$out.json" "$@" >"$out.xml"
code=$?
for file in "$out.json" "$out.xml"; do
  [ -s "$file" ] && aws s3 cp --only-show-errors "$file" "${results%/}/$(basename "$file")"
done
if [ -n "${CHECKPOINTS:-}" ] && [ -s "$checkpoint" ]; then
  aws s3 cp --only-show-errors "$checkpoint" "$state" || exit 2
fi
exit "$code"
