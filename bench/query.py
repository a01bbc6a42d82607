"""The query benchmark of issue 11: trailcheck against DuckDB on the same CloudTrail archive.

Usage: query.py TRAILCHECK [DATA_DIR] [--hours N] [--logs-per-hour N] [--rounds N]

Simulates (once, into DATA_DIR, default target/bench-data/query-48h) a 48-hour one-region
trail of 300-1800 events a log, well over 1 GB of uncompressed JSON, then runs the DeleteBucket
and RunInstances questions of the issue two ways, side by side in alternating rounds:

- `trailcheck events`, which validates every digest and log on the way (the rows come only
  from proven logs);
- DuckDB (PyPI `duckdb`), `read_json_auto` over the same .json.gz files with
  `unnest(Records)`, the usual recipe; it verifies nothing.

Both must return the same rows on this untampered archive (the script fails otherwise). It
prints wall and CPU seconds (user+sys of the child process) for each, and their ratio.
"""
import argparse
import threading
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peak_memory import newest_digest_time  # noqa: E402

START = "2026-11-01T00:00:00Z"
SINCE = "2026-11-01T12:00:00Z"

QUERIES = {
    "DeleteBucket": (
        "SELECT useridentity.arn, eventtime, sourceipaddress FROM events "
        f"WHERE eventname = 'DeleteBucket' AND eventtime > '{SINCE}'",
        "SELECT r.userIdentity.arn AS arn, r.eventTime AS eventtime, "
        "r.sourceIPAddress AS sourceipaddress "
        "FROM (SELECT unnest(Records) AS r FROM read_json_auto({files})) "
        f"WHERE r.eventName = 'DeleteBucket' AND r.eventTime > '{SINCE}'",
    ),
    "RunInstances": (
        "SELECT useridentity.arn, json_extract_scalar(requestparameters, '$.instanceType') AS t "
        "FROM events WHERE eventname = 'RunInstances' "
        "AND json_extract_scalar(requestparameters, '$.instanceType') LIKE '%.xlarge'",
        "SELECT r.userIdentity.arn AS arn, "
        "json_extract_string(CAST(r.requestParameters AS JSON), '$.instanceType') AS t "
        "FROM (SELECT unnest(Records) AS r FROM read_json_auto({files})) "
        "WHERE r.eventName = 'RunInstances' "
        "AND json_extract_string(CAST(r.requestParameters AS JSON), '$.instanceType') "
        "LIKE '%.xlarge'",
    ),
}

# Runs one DuckDB query in a child interpreter (so its CPU time is the child's own) and
# prints its rows as JSON lists.
# read_json_auto types eventTime as a timestamp; it is written back as CloudTrail writes it.
DUCKDB_CHILD = """
import datetime, json, sys, duckdb
def text(v):
    if isinstance(v, datetime.datetime):
        return v.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None if v is None else str(v)
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
rows = con.execute(sys.argv[1]).fetchall()
json.dump([[text(v) for v in row] for row in rows], sys.stdout)
"""


def run(argv):
    """Runs argv; returns (stdout bytes, wall seconds, CPU seconds (user+sys), peak RSS MiB),
    the last two of that child alone (wait4)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Reads both pipes to the end, then reaps the child with its own resource usage.
    chunks = {"out": [], "err": []}
    def drain(pipe, into):
        for block in iter(lambda: pipe.read(1 << 16), b""):
            into.append(block)
    threads = [threading.Thread(target=drain, args=(proc.stdout, chunks["out"])),
               threading.Thread(target=drain, args=(proc.stderr, chunks["err"]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        stderr = b"".join(chunks["err"]).decode(errors="replace")
        raise SystemExit(f"{argv[0]} exited {code}: {stderr[-2000:]}")
    return b"".join(chunks["out"]), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def simulate(trailcheck, data, hours, logs_per_hour):
    archive, keys = os.path.join(data, "archive"), os.path.join(data, "keys")
    if not os.path.isdir(archive):
        os.makedirs(data, exist_ok=True)
        subprocess.run(
            [trailcheck, "simulate", archive, "--keys-out", keys, "--start", START,
             "--hours", str(hours), "--logs-per-hour", str(logs_per_hour),
             "--events-per-log", "300-1800", "--regions", "us-east-1"],
            check=True, stdout=subprocess.DEVNULL,
        )
    return archive, keys


def log_files(archive):
    found = []
    for root, _, files in os.walk(archive):
        for name in files:
            if "_CloudTrail_" in name and name.endswith(".json.gz"):
                found.append(os.path.join(root, name))
    return sorted(found)


def inflated_bytes(path):
    """A one-member gzip file's uncompressed size, from its trailer (ISIZE)."""
    with open(path, "rb") as f:
        f.seek(-4, os.SEEK_END)
        return int.from_bytes(f.read(4), "little")


def normalise(rows):
    return sorted(tuple(None if v is None else str(v) for v in row) for row in rows)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("trailcheck")
    parser.add_argument("data", nargs="?", default="target/bench-data/query-48h")
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--logs-per-hour", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    archive, keys = simulate(args.trailcheck, args.data, args.hours, args.logs_per_hour)
    logs = log_files(archive)
    size = sum(inflated_bytes(p) for p in logs)
    print(f"archive: {len(logs)} logs, {size / 1e9:.2f} GB of uncompressed JSON, "
          f"{sum(os.path.getsize(p) for p in logs) / 1e6:.0f} MB gzipped", flush=True)
    end = newest_digest_time(archive)
    # The log files as a glob DuckDB expands: the same files log_files() found.
    files = f"'{archive}/AWSLogs/*/CloudTrail/*/*/*/*/*_CloudTrail_*.json.gz'"

    for name, (ours, theirs) in QUERIES.items():
        tc_argv = [args.trailcheck, "events", archive, "--keys", keys, "--start-time", START,
                   "--end-time", end, "--format", "json", "--sql", ours]
        dd_argv = [sys.executable, "-c", DUCKDB_CHILD, theirs.format(files=files)]
        best = {"trailcheck": None, "duckdb": None}
        for _ in range(args.rounds):
            out, wall, cpu, rss = run(tc_argv)
            answer = json.loads(out)
            if answer["outcome"] != "complete":
                raise SystemExit(f"{name}: trailcheck says {answer['outcome']}: {answer['excluded'][:3]}")
            tc_rows = normalise([list(r.values()) for r in answer["rows"]])
            if best["trailcheck"] is None or wall < best["trailcheck"][0]:
                best["trailcheck"] = (wall, cpu, rss)
            out, wall, cpu, rss = run(dd_argv)
            dd_rows = normalise(json.loads(out))
            if best["duckdb"] is None or wall < best["duckdb"][0]:
                best["duckdb"] = (wall, cpu, rss)
            if tc_rows != dd_rows:
                raise SystemExit(f"{name}: trailcheck {len(tc_rows)} rows, DuckDB {len(dd_rows)}: "
                                 f"first differences {[r for r in tc_rows if r not in dd_rows][:3]} "
                                 f"{[r for r in dd_rows if r not in tc_rows][:3]}")
        (tw, tcpu, trss), (dw, dcpu, drss) = best["trailcheck"], best["duckdb"]
        print(f"{name}: {len(tc_rows)} rows, the same from both (best of {args.rounds}, "
              f"taken in turns). trailcheck (verifying) {tw:.2f} s wall, {tcpu:.2f} CPU-s, "
              f"peak RSS {trss:.0f} MiB; DuckDB {dw:.2f} s wall, {dcpu:.2f} CPU-s, "
              f"peak RSS {drss:.0f} MiB; DuckDB/trailcheck wall {dw / tw:.1f}x", flush=True)


if __name__ == "__main__":
    main()
