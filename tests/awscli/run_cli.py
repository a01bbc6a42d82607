#!/usr/bin/env python3
"""Runs `aws cloudtrail validate-logs` over every trail and region of an archive; prints JSON.

Usage: run_cli.py ARCHIVE_DIR [--bucket NAME | --per-bucket] [--endpoint URL] [--stub URL]
                  [--upload] [--keys FILE] [--region-keys REGION=FILE] [--start-time T]
                  [--end-time T] [--lookup auto|s3-bucket|describe-trails]

The archive's trails are found from its digest key names. Each (trail, region) gets one CLI
run (the CLI validates only the region given as --region):

    aws cloudtrail validate-logs --region R --trail-arn ARN --start-time T --end-time T
        --s3-bucket B [--s3-prefix P] --verbose

Organization trails (keys under AWSLogs/o-ORG/) cannot be run with --s3-bucket: the CLI then
never learns the organization id and lists the wrong prefix. For them the trail is
registered in the stub's DescribeTrails and DescribeOrganization and the CLI is run with
--account-id instead of --s3-bucket/--s3-prefix (--lookup describe-trails does this for every
trail, --lookup s3-bucket for none).

Every run uses its own access key id, which is its scope in the stub (see stub.py), so runs
in parallel do not see each other's keys or trails. The CLI talks to loopback only: S3 to
--endpoint, CloudTrail and Organizations (and anything else) to --stub.

Output, one JSON object on stdout:
  files:   [{kind: digest|log, bucket, key, valid, reason, backfill, region, trail_arn,
             digest}]   (digest: s3 URL of the digest that listed a log; stdout and stderr
             are read through one pipe, unbuffered, so each log follows its digest)
  gaps:    [{backfill, from, to, region, trail_arn}]
  errors:  lines the CLI printed that are none of the above or its fixed text
  summary: {"ARN REGION": {digest|backfill digest|log: {valid, total}}}
  exit_codes: {"ARN REGION": code}
  raw:     {"ARN REGION": {argv, output}}
"""

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import archive  # noqa: E402
import upload as uploader  # noqa: E402

RUN_TIMEOUT = 600

STATUS_RE = re.compile(
    r"^(?P<backfill>\(backfill\) )?(?P<kind>Digest|Log) file\ts3://(?P<bucket>[^/]+)/(?P<key>.*)"
    r"\t(?:(?P<valid>valid)|INVALID: (?P<reason>.*))$"
)
GAP_RE = re.compile(
    r"^(?P<backfill>\(backfill\) )?No log files were delivered by CloudTrail between "
    r"(?P<start>\S+) and (?P<end>\S+)$"
)
RATIO_RE = re.compile(
    r"^(?P<valid>\d+)/(?P<total>\d+) (?P<name>digest|backfill digest|log) files valid"
    r"(?:, (?P<invalid>\d+)/\d+ (?:digest|backfill digest|log) files INVALID)?$"
)
FIXED_TEXT = (
    re.compile(r"^Validating log files for trail \S+ between \S+ and \S+$"),
    re.compile(r"^Results requested for \S+ to \S+$"),
    re.compile(r"^Results found for \S+ to \S+:$"),
    re.compile(r"^No digests found$"),
    re.compile(r"^No valid digests found in range$"),
)


def iso(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def stub_put(stub, path, scope, body, region=None):
    query = f"?scope={scope}" + (f"&region={region}" if region else "")
    request = urllib.request.Request(
        f"{stub}{path}{query}", data=json.dumps(body).encode(), method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def stub_forget(stub, scope):
    request = urllib.request.Request(f"{stub}/admin/scope?scope={scope}", method="DELETE")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def cli_env(endpoint, stub, scope, region):
    """The CLI's environment: fake credentials, every endpoint on loopback, no config files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": scope,
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_ENDPOINT_URL": stub,  # any service not named below lands on the stub too
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ENDPOINT_URL_CLOUDTRAIL": stub,
        "AWS_ENDPOINT_URL_ORGANIZATIONS": stub,
        "PYTHONUNBUFFERED": "1",
    })
    return env


def parse_output(text, trail_arn, region):
    """Sorts the CLI's lines into file verdicts, gaps, the summary and anything unexpected."""
    files, gaps, errors, summary = [], [], [], {}
    backfill_digest, current_digest = False, None
    for line in text.splitlines():
        if not line.strip():
            continue
        m = STATUS_RE.match(line)
        if m:
            kind = m["kind"].lower()
            entry = {
                "kind": kind, "bucket": m["bucket"], "key": m["key"],
                "valid": m["valid"] is not None, "reason": m["reason"],
                "backfill": bool(m["backfill"]), "region": region, "trail_arn": trail_arn,
            }
            if kind == "digest" and entry["valid"]:
                # Logs are checked right after their digest's "valid" line is printed.
                backfill_digest, current_digest = entry["backfill"], f"s3://{m['bucket']}/{m['key']}"
            if kind == "log":
                entry["backfill"], entry["digest"] = backfill_digest, current_digest
            files.append(entry)
            continue
        m = GAP_RE.match(line)
        if m:
            gaps.append({"backfill": bool(m["backfill"]), "from": m["start"], "to": m["end"],
                         "region": region, "trail_arn": trail_arn})
            continue
        m = RATIO_RE.match(line.strip())
        if m:
            summary[m["name"]] = {"valid": int(m["valid"]), "total": int(m["total"])}
            continue
        if any(p.match(line) for p in FIXED_TEXT):
            continue
        errors.append(line)
    return files, gaps, errors, summary


def run_one(trail, region, start, end, endpoint, stub, lookup, keys, region_keys):
    """One CLI run for one region of a trail, in a stub scope of its own."""
    scope = f"runcli{uuid.uuid4().hex[:16]}"
    if keys is not None:
        stub_put(stub, "/admin/keys", scope, keys)
    for key_region, key_doc in region_keys.items():
        stub_put(stub, "/admin/keys", scope, key_doc, key_region)
    argv = [sys.executable, "-m", "awscli", "cloudtrail", "validate-logs",
            "--region", region, "--trail-arn", trail.arn,
            "--start-time", iso(start), "--end-time", iso(end), "--verbose"]
    if lookup == "describe-trails" or (lookup == "auto" and trail.org):
        stub_put(stub, "/admin/trails", scope, {"trailList": [{
            "Name": trail.name, "TrailARN": trail.arn, "HomeRegion": trail.home_region,
            "S3BucketName": trail.bucket, **({"S3KeyPrefix": trail.prefix} if trail.prefix else {}),
            "IsMultiRegionTrail": len(trail.regions) > 1,
            "IsOrganizationTrail": bool(trail.org), "LogFileValidationEnabled": True,
        }]})
        if trail.org:
            stub_put(stub, "/admin/organization", scope, {"Organization": {
                "Id": trail.org, "MasterAccountId": trail.account,
                "Arn": f"arn:aws:organizations::{trail.account}:organization/{trail.org}",
            }})
            argv += ["--account-id", trail.account]
    else:
        argv += ["--s3-bucket", trail.bucket]
        if trail.prefix:
            argv += ["--s3-prefix", trail.prefix]
    try:
        proc = subprocess.run(argv, env=cli_env(endpoint, stub, scope, region),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT)
        output, code = proc.stdout.decode(errors="replace"), proc.returncode
    except subprocess.TimeoutExpired as e:
        output = (e.stdout or b"").decode(errors="replace") + f"\n[run_cli: timed out after {RUN_TIMEOUT}s]"
        code = None
    finally:
        stub_forget(stub, scope)
    return argv[1:], output, code


def validate_archive(root, endpoint, stub, *, bucket=None, per_bucket=False, upload=False,
                     keys=None, region_keys=None, start=None, end=None, lookup="auto"):
    """Runs the CLI over every trail and region of the archive; returns the result dict.

    Raises ValueError when the archive cannot be read.
    """
    for url in (endpoint, stub):
        uploader.check_loopback(url)
    objs = archive.objects(root, bucket=bucket, per_bucket=per_bucket)
    if upload:
        uploader.upload(root, endpoint, bucket, per_bucket)
    result = {"files": [], "gaps": [], "errors": [], "summary": {}, "exit_codes": {}, "raw": {}}
    for trail in archive.trails(objs):
        run_start = start or trail.first - dt.timedelta(days=1)
        run_end = end or trail.last
        for region in sorted(trail.regions):
            label = f"{trail.arn} {region}"
            cli_args, output, code = run_one(trail, region, run_start, run_end, endpoint, stub,
                                             lookup, keys, region_keys or {})
            files, gaps, errors, summary = parse_output(output, trail.arn, region)
            result["files"] += files
            result["gaps"] += gaps
            result["errors"] += [f"{label}: {line}" for line in errors]
            result["summary"][label] = summary
            result["exit_codes"][label] = code
            result["raw"][label] = {"argv": cli_args, "output": output}
    return result


def load_keys(path):
    return json.loads(Path(path).read_text())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--bucket", help="bucket of a single-bucket archive (default: from its digests)")
    where.add_argument("--per-bucket", action="store_true", help="archive holds one folder per bucket")
    parser.add_argument("--endpoint", default=os.environ.get("TRAILCHECK_TEST_S3"),
                        help="S3 endpoint (default $TRAILCHECK_TEST_S3)")
    parser.add_argument("--stub", default=os.environ.get("TRAILCHECK_TEST_KEYSTUB"),
                        help="key stub (default $TRAILCHECK_TEST_KEYSTUB)")
    parser.add_argument("--upload", action="store_true", help="run upload.py's mirror first")
    parser.add_argument("--keys", type=load_keys, help="list-public-keys JSON for all regions "
                        "(default: the keys the stub was started with)")
    parser.add_argument("--region-keys", action="append", default=[], metavar="REGION=FILE",
                        help="list-public-keys JSON for one region (repeat)")
    parser.add_argument("--start-time", type=parse_iso, help="default: a day before the earliest digest")
    parser.add_argument("--end-time", type=parse_iso, help="default: the latest digest's end time")
    parser.add_argument("--lookup", choices=("auto", "s3-bucket", "describe-trails"), default="auto",
                        help="how the CLI finds the bucket: --s3-bucket/--s3-prefix, or DescribeTrails "
                        "(auto: DescribeTrails for organization trails only)")
    args = parser.parse_args(argv)
    if not args.endpoint or not args.stub:
        parser.error("--endpoint/$TRAILCHECK_TEST_S3 and --stub/$TRAILCHECK_TEST_KEYSTUB are required")
    region_keys = {}
    for item in args.region_keys:
        region, _, path = item.partition("=")
        region_keys[region] = load_keys(path)
    try:
        result = validate_archive(
            args.archive, args.endpoint, args.stub, bucket=args.bucket,
            per_bucket=args.per_bucket, upload=args.upload, keys=args.keys,
            region_keys=region_keys, start=args.start_time, end=args.end_time, lookup=args.lookup)
    except ValueError as e:
        print(f"run_cli.py: {e}", file=sys.stderr)
        return 2
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
