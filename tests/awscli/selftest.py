#!/usr/bin/env python3
"""Proves the harness against the real `aws cloudtrail validate-logs`, with no Rust involved.

Each case writes a small trail with make_fixture.py (its own bucket), damages it in one way,
mirrors it into S3 with upload.py, runs the CLI through run_cli.py and compares every verdict
the CLI printed, and its exit code, with what the case expects. The expectations are the CLI's
observed behaviour (awscli 1.45.11), blind spots included: README.md explains each.

Usage: selftest.py --s3 URL --stub URL [--jobs N] [--keep DIR] [CASE ...]
Ends with `selftest: N passed, N failed`; exits 1 if any case failed.
"""

import argparse
import base64
import datetime as dt
import gzip
import json
import shutil
import signal
import sys
import tempfile
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_fixture  # noqa: E402
import run_cli  # noqa: E402
import upload  # noqa: E402

KEYS_DIR = make_fixture.REPO / "crates" / "trailcheck-sim" / "signing-keys"
T0 = dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)
NO_HASH = "hash value doesn't match"
NOT_FOUND = "not found"
BAD_SIG = "signature verification failed"
BAD_FORMAT = "invalid format"


class Fixture:
    """A trail written by make_fixture into its own folder and bucket, plus ways to damage it."""

    def __init__(self, ctx, name, regions=("us-east-1",), hours=3, key="key-a.pem", **kw):
        self.ctx, self.name = ctx, name
        self.bucket = f"st-{name.replace('_', '-')}-{ctx.run_id}"[:63]
        self.root = ctx.work / name
        self.per_bucket = kw.get("per_bucket", False)
        self.key_path = KEYS_DIR / key
        self.manifest = make_fixture.make_trail(
            self.root, self.bucket, "123456789012", list(regions), "fixture-trail", regions[0],
            T0, hours, 2, key_path=self.key_path, **kw)

    # where things are
    def digest(self, hour, region="us-east-1", backfill=False):
        return next(d["key"] for d in self.manifest["digests"]
                    if (d["hour"], d["region"], d["backfill"]) == (hour, region, backfill))

    def logs(self, hour, region="us-east-1", backfill=False):
        return [entry["key"] for entry in self.manifest["logs"]
                if (entry["hour"], entry["region"], entry["backfill"]) == (hour, region, backfill)]

    def path(self, key):
        return (self.root / self.bucket if self.per_bucket else self.root) / key

    def sidecar(self, key):
        return Path(str(self.path(key)) + ".meta.json")

    # damage
    def write(self, key, data):
        self.path(key).parent.mkdir(parents=True, exist_ok=True)
        self.path(key).write_bytes(data)

    def read(self, key):
        return self.path(key).read_bytes()

    def delete(self, key):
        self.path(key).unlink()
        self.sidecar(key).unlink(missing_ok=True)

    def move(self, key, new_key):
        self.write(new_key, self.read(key))
        if self.sidecar(key).exists():
            Path(str(self.path(new_key)) + ".meta.json").write_text(self.sidecar(key).read_text())
        self.delete(key)

    def rewrite(self, key, change):
        """Replaces the uncompressed content with change(content), gzipped again."""
        self.write(key, gzip.compress(change(gzip.decompress(self.read(key))), mtime=0))

    def metadata(self, key, change):
        document = json.loads(self.sidecar(key).read_text())
        change(document["Metadata"])
        self.sidecar(key).write_text(json.dumps(document))

    def resign(self, key, change):
        """Edits a digest's JSON and signs it again with the fixture's key: a valid signature."""
        digest = json.loads(gzip.decompress(self.read(key)))
        change(digest)
        signer, _ = make_fixture.load_signer(self.key_path)
        raw, signature = make_fixture.sign_digest(signer, digest)
        self.write(key, gzip.compress(raw, mtime=0))
        self.metadata(key, lambda m: m.update(signature=signature))

    # expectations
    def all_valid(self):
        """What the CLI reports for the untouched trail: every digest and log valid."""
        out = {("digest", d["key"], d["backfill"]): "valid" for d in self.manifest["digests"]}
        out.update({("log", entry["key"], entry["backfill"]): "valid" for entry in self.manifest["logs"]})
        return out

    def unreported(self, expected, *keys):
        for key in keys:
            for kind in ("digest", "log"):
                for backfill in (False, True):
                    expected.pop((kind, key, backfill), None)

    def run(self, bucket_region="us-east-1", **kw):
        upload.upload(self.root, self.ctx.s3, per_bucket=self.per_bucket,
                      bucket=None if self.per_bucket else self.bucket, bucket_region=bucket_region)
        return run_cli.validate_archive(
            self.root, self.ctx.s3, self.ctx.stub, per_bucket=self.per_bucket,
            bucket=None if self.per_bucket else self.bucket, **kw)


class Mismatch(AssertionError):
    pass


def verdicts(result):
    out = {}
    for f in result["files"]:
        ident = (f["kind"], f["key"], f["backfill"])
        if ident in out:
            raise Mismatch(f"reported twice: {ident}")
        out[ident] = "valid" if f["valid"] else f["reason"]
    return out


def check(result, expected, exit_code, gaps=(), errors=()):
    """Compares the CLI's verdicts, exit codes, gaps and error lines with the expectation."""
    problems = []
    actual = verdicts(result)
    for ident in sorted(set(expected) | set(actual)):
        want, got = expected.get(ident, "(not reported)"), actual.get(ident, "(not reported)")
        if want != got:
            problems.append(f"{ident[0]} {ident[1]}{' (backfill)' if ident[2] else ''}: "
                            f"expected {want!r}, CLI said {got!r}")
    codes = set(result["exit_codes"].values())
    if codes != {exit_code}:
        problems.append(f"exit codes {result['exit_codes']}, expected {exit_code}")
    got_gaps = sorted((g["from"], g["to"], g["backfill"]) for g in result["gaps"])
    if got_gaps != sorted(gaps):
        problems.append(f"gaps {got_gaps}, expected {sorted(gaps)}")
    unexplained = [line for line in result["errors"] if not any(e in line for e in errors)]
    missing = [e for e in errors if not any(e in line for line in result["errors"])]
    if unexplained or missing:
        problems.append(f"error lines {result['errors']}, expected lines containing {list(errors)}")
    if problems:
        raw = "\n".join(f"--- {label}: {' '.join(r['argv'])}\n{r['output']}" for label, r in result["raw"].items())
        raise Mismatch("\n  ".join(problems) + "\n" + raw)


# ---------------------------------------------------------------------------- cases
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


@case
def pristine(ctx):
    fx = Fixture(ctx, "pristine")
    check(fx.run(), fx.all_valid(), 0)


@case
def tampered_log_and_deleted_digest(ctx):
    """The brief's check: exactly the tampered log and the deleted digest are INVALID."""
    fx = Fixture(ctx, "tamper")
    tampered, deleted = fx.logs(0)[0], fx.digest(1)
    fx.rewrite(tampered, lambda raw: raw.replace(b"GetObject", b"PutObject"))
    fx.delete(deleted)
    expected = fx.all_valid()
    expected[("log", tampered, False)] = NO_HASH
    expected[("digest", deleted, False)] = NOT_FOUND
    fx.unreported(expected, *fx.logs(1))  # only the deleted digest listed them
    check(fx.run(), expected, 1)


@case
def log_damage(ctx):
    fx = Fixture(ctx, "logdamage")
    (gone, garbage), (empty, truncated) = fx.logs(2), fx.logs(1)
    fx.delete(gone)
    fx.write(garbage, b'{"Records":[]}')
    fx.write(empty, b"")
    fx.write(truncated, fx.read(truncated)[:40])
    expected = fx.all_valid()
    expected.update({("log", gone, False): NOT_FOUND, ("log", garbage, False): BAD_FORMAT,
                     ("log", empty, False): NO_HASH, ("log", truncated, False): NO_HASH})
    check(fx.run(), expected, 1)


@case
def blind_spots(ctx):
    """Changes the CLI cannot see: bytes after the first gzip member, logs no digest lists."""
    fx = Fixture(ctx, "blind")
    member, junk = fx.logs(2)
    fx.write(member, fx.read(member) + gzip.compress(b'{"Records":[{"eventName":"Sneaky"}]}'))
    fx.write(junk, fx.read(junk) + b"junk after the gzip member")
    fx.write(fx.digest(0), fx.read(fx.digest(0)) + gzip.compress(b"{}"))
    unlisted = fx.logs(1)[0].replace("_20240301T0105Z_", "_20240301T0107Z_")
    fx.write(unlisted, gzip.compress(b'{"Records":[]}'))
    check(fx.run(), fx.all_valid(), 0)


@case
def digest_damage(ctx):
    fx = Fixture(ctx, "digestdamage")
    edited, unsigned, garbage = fx.digest(2), fx.digest(1), fx.digest(0)
    fx.rewrite(edited, lambda raw: raw.replace(b'"SHA-256"', b'"SHA-256" '))
    fx.sidecar(unsigned).unlink()
    fx.write(garbage, b"not gzip")
    expected = {("digest", edited, False): BAD_SIG, ("digest", unsigned, False): BAD_SIG,
                ("digest", garbage, False): BAD_FORMAT}
    check(fx.run(), expected, 1)


@case
def moved_digest(ctx):
    fx = Fixture(ctx, "moved")
    original = fx.digest(1)
    moved = original.replace("_20240301T020000Z.json.gz", "_20240301T015959Z.json.gz")
    fx.move(original, moved)
    expected = fx.all_valid()
    expected[("digest", original, False)] = NOT_FOUND
    expected[("digest", moved, False)] = "has been moved from its original location"
    fx.unreported(expected, *fx.logs(1))
    check(fx.run(), expected, 1)


@case
def consecutive_deleted_digests(ctx):
    """Only the newest of several deleted digests in a row is reported."""
    fx = Fixture(ctx, "consecutive", hours=5)
    fx.delete(fx.digest(3))
    fx.delete(fx.digest(2))
    expected = fx.all_valid()
    expected[("digest", fx.digest(3), False)] = NOT_FOUND
    fx.unreported(expected, fx.digest(2), *fx.logs(3), *fx.logs(2))
    check(fx.run(), expected, 1)


@case
def newest_digest_deleted(ctx):
    """Deleting the newest digest (and so its logs' only witness) goes unnoticed."""
    fx = Fixture(ctx, "newest")
    fx.delete(fx.digest(2))
    expected = fx.all_valid()
    fx.unreported(expected, fx.digest(2), *fx.logs(2))
    check(fx.run(), expected, 0)


@case
def gap_after_validation_off(ctx):
    """Hour 2 had validation off: no digest; hour 3's digest starts a new chain."""
    fx = Fixture(ctx, "gap", hours=4, restart_at={3})
    fx.delete(fx.digest(2))
    expected = fx.all_valid()
    fx.unreported(expected, fx.digest(2), *fx.logs(2))
    check(fx.run(), expected, 0, gaps=[("2024-03-01T02:00:00Z", "2024-03-01T03:00:00Z", False)])


@case
def rogue_key(ctx):
    fx = Fixture(ctx, "rogue", key="rogue.pem")
    reason = f"public key not found in region us-east-1 for fingerprint {fx.manifest['fingerprint']}"
    expected = {("digest", fx.digest(h), False): reason for h in range(3)}
    check(fx.run(), expected, 1)


@case
def spki_public_key(ctx):
    """A key served as X.509 SubjectPublicKeyInfo: the CLI only loads PKCS#1."""
    fx = Fixture(ctx, "spki")
    signer, fingerprint = make_fixture.load_signer(fx.key_path)
    spki = make_fixture.public_der(signer, spki=True)
    keys = {"PublicKeyList": [{"Value": base64.b64encode(spki).decode(), "Fingerprint": fingerprint,
                               "ValidityStartTime": "2020-01-01T00:00:00Z",
                               "ValidityEndTime": "2036-01-01T00:00:00Z"}]}
    reason = f"Unable to load PKCS #1 key with fingerprint {fingerprint}"
    expected = {("digest", fx.digest(h), False): reason for h in range(3)}
    check(fx.run(keys=keys), expected, 1)


@case
def no_public_keys(ctx):
    """No key valid in the range: the CLI stops before reading any digest, exit 255."""
    fx = Fixture(ctx, "nokeys")
    check(fx.run(keys={"PublicKeyList": []}), {}, 255, errors=["No public keys found between"])


@case
def log_in_missing_bucket(ctx):
    """A (validly signed) digest naming a log in a bucket that does not exist aborts the run."""
    fx = Fixture(ctx, "nobucket")
    fx.resign(fx.digest(2), lambda d: d["logFiles"][0].update(s3Bucket="st-no-such-bucket"))
    check(fx.run(), {("digest", fx.digest(2), False): "valid"}, 255,
          errors=["NoSuchBucket", "GetBucketLocation"])


@case
def chain_fields_unchecked(ctx):
    """The CLI never compares previousDigestHashValue/Signature with the previous digest."""
    fx = Fixture(ctx, "chainfields")
    fx.resign(fx.digest(2), lambda d: d.update(previousDigestHashValue="0" * 64,
                                               previousDigestSignature="00" * 256))
    check(fx.run(), fx.all_valid(), 0)


@case
def time_window(ctx):
    """--start-time/--end-time: digests whose key time is in [start, end+1h], back to start."""
    fx = Fixture(ctx, "window", hours=5)
    result = fx.run(start=T0 + 2 * HOUR, end=T0 + 3 * HOUR)
    expected = fx.all_valid()
    fx.unreported(expected, fx.digest(0), *fx.logs(0), fx.digest(4), *fx.logs(4))
    check(result, expected, 0)


@case
def organization_trail(ctx):
    fx = Fixture(ctx, "org", org="o-abc123def4")
    check(fx.run(), fx.all_valid(), 0)


@case
def organization_trail_with_s3_bucket(ctx):
    """With --s3-bucket the CLI skips DescribeOrganization, lists without o-ID/: finds nothing."""
    fx = Fixture(ctx, "orgbucket", org="o-abc123def4")
    result = fx.run(lookup="s3-bucket")
    check(result, {}, 0)
    if not all("No digests found" in r["output"] for r in result["raw"].values()):
        raise Mismatch("expected 'No digests found'")


@case
def multi_region_prefix_bucket_elsewhere(ctx):
    fx = Fixture(ctx, "multiregion", regions=("us-east-1", "eu-west-1"), prefix="team/ct",
                 per_bucket=True)
    result = fx.run(bucket_region="eu-west-1")
    if len(result["exit_codes"]) != 2:
        raise Mismatch(f"expected one run per region, got {list(result['exit_codes'])}")
    check(result, fx.all_valid(), 0)


@case
def describe_trails_lookup(ctx):
    fx = Fixture(ctx, "describe", prefix="p")
    check(fx.run(lookup="describe-trails"), fx.all_valid(), 0)


@case
def backfill(ctx):
    """Backfill digests: their own chain, keys looked up around backfill-generation-timestamp."""
    fx = Fixture(ctx, "backfill", hours=4, backfill=True)
    late_stamp, deleted, no_stamp = (fx.digest(h, backfill=True) for h in (3, 1, 0))
    fx.metadata(late_stamp, lambda m: m.update({"backfill-generation-timestamp": "2040-01-01T00:00:00Z"}))
    fx.delete(deleted)
    fx.metadata(no_stamp, lambda m: m.pop("backfill-generation-timestamp"))
    expected = fx.all_valid()
    expected[("digest", late_stamp, True)] = (
        "No public keys found between 2039-12-31T23:00:00Z and 2040-01-01T01:00:00Z")
    expected[("digest", deleted, True)] = NOT_FOUND
    expected[("digest", no_stamp, True)] = BAD_FORMAT
    fx.unreported(expected, *(log for h in (3, 1, 0) for log in fx.logs(h, backfill=True)))
    check(fx.run(), expected, 1)


@case
def upload_mirrors_archive(ctx):
    """upload.py twice: the bucket equals the folder, sidecars became metadata, not objects."""
    fx = Fixture(ctx, "mirror")
    upload.upload(fx.root, ctx.s3, bucket=fx.bucket)
    fx.delete(fx.digest(1))
    upload.upload(fx.root, ctx.s3, bucket=fx.bucket)
    client = upload.s3_client(ctx.s3)
    keys = upload.existing_keys(client, fx.bucket)
    want = {d["key"] for d in fx.manifest["digests"]} - {fx.digest(1)}
    want |= {entry["key"] for entry in fx.manifest["logs"]}
    if keys != want:
        raise Mismatch(f"bucket holds {sorted(keys ^ want)} differently from the folder")
    head = client.head_object(Bucket=fx.bucket, Key=fx.digest(2))
    if head["Metadata"] != json.loads(fx.sidecar(fx.digest(2)).read_text())["Metadata"]:
        raise Mismatch(f"metadata {head['Metadata']} is not the sidecar's")


# ---------------------------------------------------------------------------- driver
class Context:
    def __init__(self, s3, stub, work):
        self.s3, self.stub, self.work = s3, stub, Path(work)
        self.run_id = uuid.uuid4().hex[:8]


def run_case(ctx, name):
    started = time.monotonic()
    try:
        CASES[name](ctx)
        return name, None, time.monotonic() - started
    except Mismatch as e:
        return name, str(e), time.monotonic() - started
    except Exception:  # a harness bug: show where
        return name, traceback.format_exc(), time.monotonic() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--s3", required=True)
    parser.add_argument("--stub", required=True)
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write fixtures here and keep them")
    parser.add_argument("cases", nargs="*", help=f"default: all of {', '.join(CASES)}")
    args = parser.parse_args(argv)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown cases {unknown}")
    work = args.keep or Path(tempfile.mkdtemp(prefix="awscli-selftest-"))
    work.mkdir(parents=True, exist_ok=True)
    ctx = Context(args.s3, args.stub, work)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still remove the fixtures
    failed = 0
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for name, problem, seconds in pool.map(lambda n: run_case(ctx, n), args.cases or list(CASES)):
                if problem is None:
                    print(f"ok    {name} ({seconds:.1f}s)", flush=True)
                else:
                    failed += 1
                    print(f"FAIL  {name} ({seconds:.1f}s)\n  {problem}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    total = len(args.cases or CASES)
    print(f"selftest: {total - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
