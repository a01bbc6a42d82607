"""A nightly run with `--checkpoint` against a full run over the same 30-day archive.

Usage: checkpoint.py TRAILCHECK [--days 30] [--logs-per-hour 20] [--rounds 3]

Simulates (once, into a temporary folder) a trail of DAYS days in two regions, writes a
checkpoint by validating up to one day before its end, then times, round by round and side by
side, a full run up to the end and the nightly run from a copy of that checkpoint. Prints the
wall and CPU seconds of each (the children's user+system time) and the nightly/full ratios of
the medians; the target is at most 1/20 (0.05).
"""
import argparse
import datetime
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time

START = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def timed(argv, expect=0):
    """(wall seconds, CPU seconds) of one child run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    code = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != expect:
        raise SystemExit(f"{' '.join(argv)}: exit {code}, expected {expect}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("trailcheck")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--logs-per-hour", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="trailcheck-checkpoint-")
    try:
        archive, keys = os.path.join(work, "archive"), os.path.join(work, "keys")
        subprocess.run(
            [args.trailcheck, "simulate", archive, "--keys-out", keys,
             "--start", stamp(START), "--hours", str(args.days * 24),
             "--logs-per-hour", str(args.logs_per_hour), "--regions", "us-east-1,eu-west-1"],
            check=True, stdout=subprocess.DEVNULL,
        )
        end = START + datetime.timedelta(days=args.days, hours=1)
        yesterday = end - datetime.timedelta(days=1)
        base = [args.trailcheck, "validate", archive, "--keys", keys, "-q",
                "--start-time", stamp(START)]
        kept = os.path.join(work, "yesterday.json")
        timed(base + ["--end-time", stamp(yesterday), "--checkpoint", kept])
        full, nightly = [], []
        for _ in range(args.rounds):
            full.append(timed(base + ["--end-time", stamp(end)]))
            tonight = os.path.join(work, "tonight.json")
            shutil.copyfile(kept, tonight)
            nightly.append(timed(base + ["--end-time", stamp(end), "--checkpoint", tonight]))
        logs = sum(1 for _, _, files in os.walk(archive) for f in files if "_CloudTrail_" in f)
        print(f"{args.days}-day archive, 2 regions, {logs} logs; {args.rounds} rounds, "
              "full and nightly side by side")
        for name, runs in (("full run", full), ("nightly run", nightly)):
            walls = ", ".join(f"{w:.2f}" for w, _ in runs)
            cpus = ", ".join(f"{c:.2f}" for _, c in runs)
            print(f"  {name:12} wall s: {walls}   CPU s: {cpus}")
        wall = statistics.median(w for w, _ in nightly) / statistics.median(w for w, _ in full)
        cpu = statistics.median(c for _, c in nightly) / statistics.median(c for _, c in full)
        print(f"  nightly/full: wall {wall:.3f} (1/{1 / wall:.0f}), "
              f"CPU {cpu:.3f} (1/{1 / cpu:.0f}); target at most 0.05")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
