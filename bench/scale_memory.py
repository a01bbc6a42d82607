"""Peak memory against archive size (issue 12): 50,400 logs and 1,008,000.

Usage: scale_memory.py TRAILCHECK DATA_DIR [--accounts N]

Simulates, once (kept under DATA_DIR), N accounts (default 20) of 30 days x 5 regions x 14 small
logs an hour: 50,400 logs and 3,600 digests each, an organization's shape (a place, an account's
region, the same size in both archives). The small archive is the first account alone (hard
links). Then validates both, each in a fresh child, twice:

  - `--format json` with stdout to a file;
  - `-q --report FILE.html --report-json FILE.json`.

Prints each peak RSS (the child's ru_maxrss) and the large/small ratio. Issue 12's targets: at
most 64 MiB at both sizes, and the large archive at most 1.2x the small.

Measured 2026-12-03 with this script (release build, the 2-core VM, one run; simulating took
about 77 s an account): json 39.9 MiB at 50,400 logs and 43.2 at 1,008,000 (1.08x); with the
evidence report 40.8 and 44.0 (1.08x). The build before (eee09bd): json 53.1 MiB at 50,400
logs, 63.8 at 201,600; the report 72.3 MiB at 1,008,000.
"""
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

REGIONS = "us-east-1,eu-west-1,us-west-2,ap-southeast-2,eu-central-1"


def account(i):
    return f"1{i:011d}"


def simulate(trailcheck, data, accounts):
    """DATA/large/AWSLogs/ACCOUNT for each account, DATA/small holding the first; DATA/keys."""
    large = os.path.join(data, "large")
    keys = os.path.join(data, "keys")
    for i in range(1, accounts + 1):
        target = os.path.join(large, "AWSLogs", account(i))
        if os.path.isdir(target):
            continue
        scratch = os.path.join(data, f"sim-{i}")
        shutil.rmtree(scratch, ignore_errors=True)
        started = time.monotonic()
        subprocess.run(
            [trailcheck, "simulate", scratch, "--hours", "720", "--logs-per-hour", "14",
             "--events-per-log", "1-2", "--regions", REGIONS, "--account", account(i),
             "--keys-out", keys],
            check=True, stdout=subprocess.DEVNULL,
        )
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.rename(os.path.join(scratch, "AWSLogs", account(i)), target)
        shutil.rmtree(scratch)
        print(f"simulated account {i} of {accounts} in {time.monotonic() - started:.0f} s",
              flush=True)
    small = os.path.join(data, "small")
    if not os.path.isdir(small):
        shutil.copytree(os.path.join(large, "AWSLogs", account(1)),
                        os.path.join(small, "AWSLogs", account(1)), copy_function=os.link)
    return small, large, keys


def newest_digest_time(archive):
    """The newest digest's end time: the whole archive in range whatever today is."""
    newest = max(
        stamp.group(1)
        for _, _, files in os.walk(archive)
        for name in files
        if "_CloudTrail-Digest_" in name
        and (stamp := re.search(r"_(\d{8}T\d{6}Z)(?:_backfill)?\.json\.gz$", name))
    )
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.strptime(newest, "%Y%m%dT%H%M%SZ"))


def child(argv):
    """In a fresh interpreter, so RUSAGE_CHILDREN holds this one run: prints exit, peak."""
    out = tempfile.TemporaryFile()
    code = subprocess.run(argv, stdout=out, stderr=subprocess.DEVNULL).returncode
    print(f"{code} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.1f}")


def peak(argv):
    out = subprocess.run([sys.executable, __file__, "--child"] + argv,
                         capture_output=True, text=True, check=True).stdout.split()
    code, mib = int(out[0]), float(out[1])
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} exited {code}: the archive should be intact")
    return mib


def main():
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
        return
    args = sys.argv[1:]
    accounts = 20
    if "--accounts" in args:
        at = args.index("--accounts")
        accounts = int(args[at + 1])
        del args[at:at + 2]
    trailcheck, data = args
    small, large, keys = simulate(trailcheck, data, accounts)
    end = newest_digest_time(small)
    out = tempfile.mkdtemp()
    try:
        cases = {
            "--format json": ["--format", "json"],
            "--report and --report-json": [
                "-q", "--report", os.path.join(out, "r.html"),
                "--report-json", os.path.join(out, "r.json")],
        }
        for name, extra in cases.items():
            mib = {}
            for label, archive in (("small", small), ("large", large)):
                mib[label] = peak([trailcheck, "validate", archive, "--keys", keys,
                                   "--end-time", end] + extra)
            print(f"{name}: peak RSS {mib['small']:.1f} MiB at {50_400:,} logs, "
                  f"{mib['large']:.1f} MiB at {50_400 * accounts:,} "
                  f"({mib['large'] / mib['small']:.2f}x; targets: 64 MiB, 1.2x)", flush=True)
    finally:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
