"""Peak memory of `trailcheck validate`: the max RSS of the child process.

Usage: peak_memory.py TRAILCHECK ARCHIVE_DIR

ARCHIVE_DIR holds archive/ and keys/ (as benches/throughput.rs leaves them). Prints the peak
for that archive, then for a copy of a one-hour trail in which one log is replaced by a gzip
stream that inflates to 2 GiB: streaming keeps both far under the 64 MiB target.
"""
import gzip
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time


def peak_rss_mib(argv):
    """Runs argv in a fresh child and returns (exit code, seconds, peak RSS in MiB)."""
    start = time.monotonic()
    code = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    elapsed = time.monotonic() - start
    # A fresh interpreter per measurement so RUSAGE_CHILDREN holds this child only.
    return code, elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def measure(argv):
    out = subprocess.run(
        [sys.executable, __file__, "--child"] + argv, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def bomb_archive(trailcheck, workdir):
    archive, keys = os.path.join(workdir, "archive"), os.path.join(workdir, "keys")
    subprocess.run(
        [trailcheck, "simulate", archive, "--keys-out", keys, "--hours", "2",
         "--logs-per-hour", "2", "--regions", "us-east-1"],
        check=True, stdout=subprocess.DEVNULL,
    )
    for root, _, files in os.walk(archive):
        for name in sorted(files):
            if "_CloudTrail_" in name and name.endswith(".json.gz"):
                path = os.path.join(root, name)
                with gzip.open(path, "wb", compresslevel=9) as out:
                    chunk = b"\0" * (1 << 20)
                    for _ in range(2048):
                        out.write(chunk)
                return archive, keys
    raise SystemExit("no log found in the simulated trail")


def newest_digest_time(archive):
    """The end time of the newest digest, so the whole archive is in range whatever today is
    (the default end time is now, and the bench archive may lie partly in the future)."""
    newest = max(
        stamp.group(1)
        for _, _, files in os.walk(archive)
        for name in files
        if "_CloudTrail-Digest_" in name
        and (stamp := re.search(r"_(\d{8}T\d{6}Z)(?:_backfill)?\.json\.gz$", name))
    )
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.strptime(newest, "%Y%m%dT%H%M%SZ"))


def main():
    if sys.argv[1:2] == ["--child"]:
        code, seconds, mib = peak_rss_mib(sys.argv[2:])
        print(f"exit {code}, {seconds:.1f} s, peak RSS {mib:.1f} MiB")
        return
    trailcheck, data = sys.argv[1], sys.argv[2]
    archive, keys = os.path.join(data, "archive"), os.path.join(data, "keys")
    end = newest_digest_time(archive)
    print("30-day archive:   ", measure([trailcheck, "validate", archive, "--keys", keys, "-q",
                                         "--end-time", end]))
    workdir = tempfile.mkdtemp()
    try:
        archive, keys = bomb_archive(trailcheck, workdir)
        print("2 GiB-inflating log:", measure([trailcheck, "validate", archive, "--keys", keys, "-q"]))
    finally:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
