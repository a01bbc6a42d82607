#!/usr/bin/env python3
"""A minimal CloudTrail trail writer, independent of `trailcheck simulate`.

Writes, in the archive layout (object key = path below OUT, or OUT/BUCKET/KEY with
--per-bucket), an hourly digest chain with N logs an hour per region, each digest signed with
an RSA key (PKCS#1 v1.5, SHA-256) and its signature in a `K.meta.json` sidecar, exactly as
/work/shared/FORMAT.md and the AWS CloudTrail user guide describe. Deterministic: the same
arguments write the same bytes. Prints a JSON manifest of what it wrote.

Written from the format description alone, so that when both this and the Rust simulator
satisfy `aws cloudtrail validate-logs`, the format is understood rather than copied.
"""

import argparse
import datetime as dt
import gzip
import hashlib
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

REPO = Path(__file__).resolve().parents[2]
DEFAULT_KEY = REPO / "crates" / "trailcheck-sim" / "signing-keys" / "key-a.pem"
HOUR = dt.timedelta(hours=1)


def iso(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def gz(data):
    return gzip.compress(data, mtime=0)


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def public_der(signer, spki=False):
    """The signer's public key as DER: PKCS#1 RSAPublicKey, or X.509 SubjectPublicKeyInfo."""
    form = serialization.PublicFormat.SubjectPublicKeyInfo if spki else serialization.PublicFormat.PKCS1
    return signer.public_key().public_bytes(serialization.Encoding.DER, form)


def load_signer(pem_path):
    """The private key and its fingerprint (hex MD5 of the PKCS#1 DER public key)."""
    key = serialization.load_pem_private_key(Path(pem_path).read_bytes(), password=None)
    return key, hashlib.md5(public_der(key)).hexdigest()


def sign_digest(signer, digest):
    """A digest's uncompressed bytes and the hex signature that goes in its S3 metadata."""
    raw = json.dumps(digest, separators=(",", ":")).encode()
    to_sign = (f"{digest['digestEndTime']}\n{digest['digestS3Bucket']}/{digest['digestS3Object']}\n"
               f"{sha256_hex(raw)}\n{digest['previousDigestSignature'] or 'null'}")
    return raw, signer.sign(to_sign.encode(), padding.PKCS1v15(), hashes.SHA256()).hex()


def log_key(prefix, org, account, region, delivered, unique):
    base = f"AWSLogs/{org + '/' if org else ''}{account}/CloudTrail/{region}/{delivered:%Y/%m/%d}/"
    name = f"{account}_CloudTrail_{region}_{delivered:%Y%m%dT%H%MZ}_{unique}.json.gz"
    return f"{prefix + '/' if prefix else ''}{base}{name}"


def digest_key(prefix, org, account, region, trail, home, end, backfill=False):
    base = f"AWSLogs/{org + '/' if org else ''}{account}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/"
    name = (f"{account}_CloudTrail-Digest_{region}_{trail}_{home}_{end:%Y%m%dT%H%M%SZ}"
            f"{'_backfill' if backfill else ''}.json.gz")
    return f"{prefix + '/' if prefix else ''}{base}{name}"


def make_log(account, region, delivered, count):
    """A small log: `count` events in the five minutes before delivery."""
    records = []
    for i in range(count):
        when = delivered - dt.timedelta(minutes=5) + dt.timedelta(seconds=7 * i)
        records.append({
            "eventVersion": "1.08",
            "eventTime": iso(when),
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "awsRegion": region,
            "sourceIPAddress": "192.0.2.10",
            "recipientAccountId": account,
            "eventID": hashlib.md5(f"{region}{when}{i}".encode()).hexdigest(),
            "userIdentity": {"type": "IAMUser", "accountId": account, "userName": "fixture"},
        })
    raw = json.dumps({"Records": records}, separators=(",", ":")).encode()
    return raw, records[0]["eventTime"], records[-1]["eventTime"]


def make_trail(out, bucket, account, regions, trail, home, start, hours, logs_per_hour,
               key_path=DEFAULT_KEY, prefix=None, org=None, per_bucket=False, restart_at=(),
               backfill=False):
    """Writes the trail; returns a manifest {digests: [...], logs: [...]} of keys per region.

    restart_at: hour indexes whose digest is a starting digest (null previous-digest fields),
    as after log file validation was turned off and on again.
    backfill: also write, per region, a backfill chain over the same hours (`_backfill` keys,
    S3 metadata `backfill-generation-timestamp`), each digest listing one late log.
    """
    signer, fingerprint = load_signer(key_path)
    root = Path(out) / bucket if per_bucket else Path(out)
    manifest = {"bucket": bucket, "account": account, "trail": trail, "home_region": home,
                "trail_arn": f"arn:aws:cloudtrail:{home}:{account}:trail/{trail}",
                "start": iso(start), "end": iso(start + hours * HOUR),
                "fingerprint": fingerprint, "digests": [], "logs": []}

    def write(key, data, metadata=None):
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if metadata is not None:
            Path(str(path) + ".meta.json").write_text(json.dumps({"Metadata": metadata}, indent=2) + "\n")

    generated = start + hours * HOUR + dt.timedelta(minutes=30)
    chains = [(region, late) for region in regions for late in ((False, True) if backfill else (False,))]
    for region, late in chains:
        previous = None  # (key, uncompressed bytes, signature hex)
        per_hour = 1 if late else logs_per_hour
        for hour in range(hours):
            d_start, d_end = start + hour * HOUR, start + (hour + 1) * HOUR
            log_entries = []
            for n in range(per_hour):
                delivered = d_start + dt.timedelta(minutes=(50 if late else 5) + n * (60 // per_hour))
                unique = hashlib.sha256(f"{region}{delivered}{n}{late}".encode()).hexdigest()[:16]
                key = log_key(prefix, org, account, region, delivered, unique)
                raw, oldest, newest = make_log(account, region, delivered, 3)
                write(key, gz(raw))
                manifest["logs"].append({"region": region, "hour": hour, "key": key, "backfill": late})
                log_entries.append({
                    "s3Bucket": bucket, "s3Object": key,
                    "hashValue": sha256_hex(raw), "hashAlgorithm": "SHA-256",
                    "newestEventTime": newest, "oldestEventTime": oldest,
                })
            key = digest_key(prefix, org, account, region, trail, home, d_end, late)
            chained = previous is not None and hour not in restart_at
            digest = {
                "awsAccountId": account,
                "digestStartTime": iso(d_start),
                "digestEndTime": iso(d_end),
                "digestS3Bucket": bucket,
                "digestS3Object": key,
                "digestPublicKeyFingerprint": fingerprint,
                "digestSignatureAlgorithm": "SHA256withRSA",
                "newestEventTime": max((e["newestEventTime"] for e in log_entries), default=None),
                "oldestEventTime": min((e["oldestEventTime"] for e in log_entries), default=None),
                "previousDigestS3Bucket": bucket if chained else None,
                "previousDigestS3Object": previous[0] if chained else None,
                "previousDigestHashValue": sha256_hex(previous[1]) if chained else None,
                "previousDigestHashAlgorithm": "SHA-256" if chained else None,
                "previousDigestSignature": previous[2] if chained else None,
                "logFiles": log_entries,
            }
            raw, signature = sign_digest(signer, digest)
            metadata = {"signature": signature, "signature-algorithm": "SHA256withRSA"}
            if late:
                metadata["backfill-generation-timestamp"] = iso(generated)
            write(key, gz(raw), metadata)
            manifest["digests"].append({"region": region, "hour": hour, "key": key,
                                        "starting": not chained, "backfill": late})
            previous = (key, raw, signature)
    return manifest


def parse_time(text):
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--bucket", default="trailcheck-fixture")
    parser.add_argument("--account", default="123456789012")
    parser.add_argument("--region", action="append", dest="regions",
                        help="region to write a chain for (repeat; default us-east-1)")
    parser.add_argument("--home-region", help="trail home region (default: first --region)")
    parser.add_argument("--trail", default="fixture-trail")
    parser.add_argument("--start", type=parse_time, default=parse_time("2024-03-01T00:00:00Z"))
    parser.add_argument("--hours", type=int, default=3)
    parser.add_argument("--logs-per-hour", type=int, default=2)
    parser.add_argument("--key", type=Path, default=DEFAULT_KEY, help="PKCS#8 PEM signing key")
    parser.add_argument("--prefix", help="S3 key prefix of the trail")
    parser.add_argument("--org", help="organization id (o-...) for an organization trail")
    parser.add_argument("--per-bucket", action="store_true", help="write OUT/BUCKET/KEY")
    parser.add_argument("--restart-at", type=int, action="append", default=[],
                        help="hour index whose digest is a starting digest (repeat)")
    parser.add_argument("--backfill", action="store_true", help="also write a backfill chain")
    args = parser.parse_args(argv)
    regions = args.regions or ["us-east-1"]
    manifest = make_trail(args.out, args.bucket, args.account, regions, args.trail,
                          args.home_region or regions[0], args.start, args.hours,
                          args.logs_per_hour, args.key, args.prefix, args.org,
                          args.per_bucket, set(args.restart_at), args.backfill)
    json.dump(manifest, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
