#!/usr/bin/env python3
"""Puts an archive folder into S3 (moto on loopback), sidecar metadata included.

Usage: upload.py ARCHIVE_DIR [--bucket NAME | --per-bucket] --endpoint URL [--keep-extra]

Creates the bucket(s) if needed, puts every object with the "Metadata" of its `K.meta.json`
sidecar as user metadata (x-amz-meta-*), and deletes objects the archive no longer has, so
the bucket afterwards holds exactly the archive (run it again after tampering with the
folder). Without --bucket a single-bucket archive takes its bucket name from its digests.
"""

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import archive  # noqa: E402


def check_loopback(url):
    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to talk to {url}: loopback endpoints only")


def s3_client(endpoint, region="us-east-1"):
    import boto3

    check_loopback(endpoint)
    return boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        region_name=region,
    ).client("s3", endpoint_url=endpoint)


def ensure_bucket(client, bucket, region):
    from botocore.exceptions import ClientError

    kwargs = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        client.create_bucket(**kwargs)
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def existing_keys(client, bucket):
    keys = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.update(obj["Key"] for obj in page.get("Contents", []))
    return keys


def upload(root, endpoint, bucket=None, per_bucket=False, keep_extra=False, bucket_region="us-east-1"):
    """Mirrors the archive into S3; returns {bucket: number of objects}."""
    objs = archive.objects(root, bucket=bucket, per_bucket=per_bucket)
    client = s3_client(endpoint)
    by_bucket = {}
    for obj in objs:
        by_bucket.setdefault(obj.bucket, []).append(obj)

    def put(obj):
        client.put_object(
            Bucket=obj.bucket, Key=obj.key, Body=obj.path.read_bytes(), Metadata=obj.metadata
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        for name, items in by_bucket.items():
            ensure_bucket(client, name, bucket_region)
            if not keep_extra:
                for key in sorted(existing_keys(client, name) - {o.key for o in items}):
                    client.delete_object(Bucket=name, Key=key)
            list(pool.map(put, items))
    return {name: len(items) for name, items in by_bucket.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--bucket", help="bucket of a single-bucket archive (default: from its digests)")
    where.add_argument("--per-bucket", action="store_true", help="archive holds one folder per bucket")
    parser.add_argument("--endpoint", default=os.environ.get("TRAILCHECK_TEST_S3"),
                        help="S3 endpoint (default $TRAILCHECK_TEST_S3)")
    parser.add_argument("--bucket-region", default="us-east-1", help="LocationConstraint of new buckets")
    parser.add_argument("--keep-extra", action="store_true", help="leave objects the archive lacks")
    args = parser.parse_args(argv)
    if not args.endpoint:
        parser.error("--endpoint or $TRAILCHECK_TEST_S3 is required")
    try:
        counts = upload(args.archive, args.endpoint, args.bucket, args.per_bucket,
                        args.keep_extra, args.bucket_region)
    except ValueError as e:
        print(f"upload.py: {e}", file=sys.stderr)
        return 2
    for name, count in sorted(counts.items()):
        print(f"s3://{name}: {count} objects")
    return 0


if __name__ == "__main__":
    sys.exit(main())
