"""Reads an archive folder of CloudTrail objects: which objects, which metadata, which trails.

An archive mirrors one bucket (`aws s3 sync s3://BUCKET DIR`: key = path relative to DIR) or,
with per_bucket, one folder per bucket (`DIR/BUCKET/KEY`). Beside a digest `K` a sidecar
`K.meta.json` may hold what `aws s3api head-object` prints; its "Metadata" becomes the
object's user metadata. Sidecars are never objects themselves.
"""

import datetime as dt
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

SIDECAR_SUFFIX = ".meta.json"

DIGEST_KEY_RE = re.compile(
    r"^(?:(?P<prefix>.+)/)?AWSLogs/(?:(?P<org>o-[a-z0-9]+)/)?(?P<account>\d{12})"
    r"/CloudTrail-Digest/(?P<region>[^/]+)/\d{4}/\d{2}/\d{2}/"
    r"(?P=account)_CloudTrail-Digest_(?P=region)_(?P<trail>.+)_"
    r"(?P<home>[a-z]{2}(?:-[a-z]+)+-\d+)_(?P<date>\d{8}T\d{6}Z)(?P<backfill>_backfill)?\.json\.gz$"
)


@dataclass
class ArchiveObject:
    bucket: str
    key: str
    path: Path
    metadata: dict = field(default_factory=dict)


def read_sidecar(path):
    """The user metadata in a head-object style sidecar, or {} if there is none."""
    sidecar = Path(str(path) + SIDECAR_SUFFIX)
    if not sidecar.is_file():
        return {}
    document = json.loads(sidecar.read_text())
    metadata = document.get("Metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError(f"{sidecar}: Metadata is not an object")
    return {str(k): str(v) for k, v in metadata.items()}


def _files(root):
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.endswith(SIDECAR_SUFFIX):
            yield path


def infer_bucket(root):
    """The one digestS3Bucket named by the readable digests of a single-bucket archive."""
    buckets = set()
    for path in _files(root):
        key = path.relative_to(root).as_posix()
        if DIGEST_KEY_RE.match(key):
            digest = read_digest(path)
            if digest and isinstance(digest.get("digestS3Bucket"), str):
                buckets.add(digest["digestS3Bucket"])
    if len(buckets) != 1:
        raise ValueError(
            f"{root}: cannot tell the bucket from its digests (found {sorted(buckets)}); "
            "pass --bucket NAME or --per-bucket"
        )
    return buckets.pop()


def objects(root, bucket=None, per_bucket=False):
    """Every object in the archive, with its sidecar metadata."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder")
    if per_bucket:
        tops = [(d.name, d) for d in sorted(root.iterdir()) if d.is_dir()]
    else:
        tops = [(bucket or infer_bucket(root), root)]
    out = []
    for name, top in tops:
        for path in _files(top):
            key = path.relative_to(top).as_posix()
            out.append(ArchiveObject(name, key, path, read_sidecar(path)))
    return out


def read_digest(path):
    """A digest's JSON as the CLI reads it (first gzip member only), or None if unreadable."""
    try:
        return json.loads(zlib.decompress(Path(path).read_bytes(), zlib.MAX_WBITS | 16))
    except (ValueError, zlib.error, OSError):
        return None


def key_time(date):
    return dt.datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)


@dataclass
class Trail:
    """One trail's digests in one bucket: everything one validate-logs run per region needs."""

    bucket: str
    prefix: str | None
    org: str | None
    account: str
    name: str
    home_region: str
    regions: set = field(default_factory=set)
    first: dt.datetime | None = None
    last: dt.datetime | None = None

    @property
    def arn(self):
        return f"arn:aws:cloudtrail:{self.home_region}:{self.account}:trail/{self.name}"

    def add(self, region, when):
        self.regions.add(region)
        self.first = when if self.first is None else min(self.first, when)
        self.last = when if self.last is None else max(self.last, when)


def trails(archive_objects):
    """Trails found from digest key names, keyed by (bucket, prefix, org, account, name, home)."""
    found = {}
    for obj in archive_objects:
        m = DIGEST_KEY_RE.match(obj.key)
        if not m:
            continue
        ident = (obj.bucket, m["prefix"], m["org"], m["account"], m["trail"], m["home"])
        trail = found.setdefault(ident, Trail(*ident))
        trail.add(m["region"], key_time(m["date"]))
    return [found[k] for k in sorted(found, key=lambda k: tuple(x or "" for x in k))]

