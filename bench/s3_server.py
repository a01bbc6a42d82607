#!/usr/bin/env python3
"""A read-only, in-memory S3 server for the benchmark: fast enough not to be what is measured.

Usage: s3_server.py --load BUCKET=DIR[@REGION] ... [--port 0] [--port-file PATH] [--delay-ms 20]

moto's server spends about 4 ms of CPU on every GET (measured here: 24 s of CPU for the 5,544
objects of the latency case), which on two cores caps any client at a few hundred files a
second. This server answers the same S3 REST calls from memory in a few tens of
microseconds, so the benchmark measures the validators, not the server:

  GET  /BUCKET?location                      GetBucketLocation
  GET  /BUCKET?list-type=2&prefix&delimiter&start-after&continuation-token&max-keys
                                             ListObjectsV2 (trailcheck)
  GET  /BUCKET?prefix&delimiter&marker&max-keys
                                             ListObjects (the AWS CLI), encoding-type=url too
  GET  /BUCKET/KEY, HEAD /BUCKET/KEY         with ETag, Content-Length, x-amz-meta-*

Objects are loaded at start from archive folders as `trailcheck simulate` writes them
(DIR/KEY, with the user metadata of KEY.meta.json). Requests are path-style; signatures are
not checked. --delay-ms delays every answer, as S3 is that far from a client. Loopback only.
"""

import argparse
import asyncio
import bisect
import hashlib
import json
import socket
import sys
from email.utils import formatdate
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.sax.saxutils import escape

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
LAST_MODIFIED = "2026-11-01T00:00:00.000Z"
LAST_MODIFIED_HTTP = formatdate(1_793_491_200, usegmt=True)
MAX_KEYS = 1000
SIDECAR = ".meta.json"


class Bucket:
    def __init__(self, region):
        self.region = region
        self.objects = {}
        self.keys = []

    def load(self, root):
        for path in sorted(root.rglob("*")):
            name = path.as_posix()
            if not path.is_file() or name.endswith(SIDECAR) or "/.trailcheck" in name:
                continue
            key = path.relative_to(root).as_posix()
            body = path.read_bytes()
            meta = {}
            sidecar = Path(name + SIDECAR)
            if sidecar.is_file():
                meta = json.loads(sidecar.read_text()).get("Metadata", {})
            self.objects[key] = (body, hashlib.md5(body).hexdigest(), meta)
        self.keys = sorted(self.objects)


def error(status, code, resource):
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{code}</Message><Resource>{escape(resource)}</Resource>"
        "<RequestId>0</RequestId></Error>"
    ).encode()
    return status, [("Content-Type", "application/xml")], body


def xml(body):
    data = ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()
    return 200, [("Content-Type", "application/xml")], data


def list_objects(name, bucket, query):
    """ListObjects (v1) and ListObjectsV2, with prefix, delimiter and a start point."""
    one = lambda k, d="": query.get(k, [d])[0]  # noqa: E731
    v2 = one("list-type") == "2"
    prefix, delimiter = one("prefix"), one("delimiter")
    encode = one("encoding-type") == "url"
    max_keys = min(int(one("max-keys", str(MAX_KEYS)) or MAX_KEYS), MAX_KEYS)
    after = max(one("start-after"), one("continuation-token")) if v2 else one("marker")
    keys = bucket.keys
    i = bisect.bisect_right(keys, after) if after else 0
    i = max(i, bisect.bisect_left(keys, prefix))
    contents, prefixes, last, truncated = [], [], None, False
    while i < len(keys) and keys[i].startswith(prefix):
        key = keys[i]
        if len(contents) + len(prefixes) >= max_keys:
            truncated = True
            break
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        if cut >= 0:
            common = key[: cut + len(delimiter)]
            prefixes.append(common)
            last = common
            i = bisect.bisect_left(keys, common + "\U0010ffff")
            continue
        contents.append(key)
        last = key
        i += 1
    out = lambda s: escape(quote(s, safe="/") if encode else s)  # noqa: E731
    parts = [f'<ListBucketResult xmlns="{NS}"><Name>{name}</Name>',
             f"<Prefix>{out(prefix)}</Prefix><MaxKeys>{max_keys}</MaxKeys>",
             f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"]
    if delimiter:
        parts.append(f"<Delimiter>{out(delimiter)}</Delimiter>")
    if encode:
        parts.append("<EncodingType>url</EncodingType>")
    if v2:
        parts.append(f"<KeyCount>{len(contents) + len(prefixes)}</KeyCount>")
        if one("continuation-token"):
            parts.append(f"<ContinuationToken>{escape(one('continuation-token'))}</ContinuationToken>")
        if one("start-after"):
            parts.append(f"<StartAfter>{out(one('start-after'))}</StartAfter>")
        if truncated:
            parts.append(f"<NextContinuationToken>{escape(last)}</NextContinuationToken>")
    else:
        parts.append(f"<Marker>{out(after)}</Marker>")
        if truncated and delimiter:
            parts.append(f"<NextMarker>{out(last)}</NextMarker>")
    for key in contents:
        _, etag, _ = bucket.objects[key]
        parts.append(
            f"<Contents><Key>{out(key)}</Key><LastModified>{LAST_MODIFIED}</LastModified>"
            f"<ETag>&quot;{etag}&quot;</ETag><Size>{len(bucket.objects[key][0])}</Size>"
            "<StorageClass>STANDARD</StorageClass></Contents>"
        )
    for common in prefixes:
        parts.append(f"<CommonPrefixes><Prefix>{out(common)}</Prefix></CommonPrefixes>")
    parts.append("</ListBucketResult>")
    return xml("".join(parts))


def answer(buckets, method, target):
    split = urlsplit(target)
    path = unquote(split.path)
    query = parse_qs(split.query, keep_blank_values=True)
    name, _, key = path.lstrip("/").partition("/")
    bucket = buckets.get(name)
    if bucket is None:
        return error(404, "NoSuchBucket", path)
    if method not in ("GET", "HEAD"):
        return error(405, "MethodNotAllowed", path)
    if not key:
        if "location" in query:
            region = "" if bucket.region == "us-east-1" else bucket.region
            return xml(f'<LocationConstraint xmlns="{NS}">{region}</LocationConstraint>')
        return list_objects(name, bucket, query)
    found = bucket.objects.get(key)
    if found is None:
        return error(404, "NoSuchKey", path)
    body, etag, meta = found
    headers = [("ETag", f'"{etag}"'), ("Last-Modified", LAST_MODIFIED_HTTP),
               ("Content-Type", "application/octet-stream")]
    headers += [(f"x-amz-meta-{k}", v) for k, v in meta.items()]
    return 200, headers, body


async def serve(reader, writer, buckets, delay):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            length, close = 0, False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and value.strip().lower() == "close":
                    close = True
            if length:
                await reader.readexactly(length)
            if delay:
                await asyncio.sleep(delay)
            status, headers, body = answer(buckets, method, target)
            out = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}",
                   f"Content-Length: {len(body)}", "x-amz-request-id: 0"]
            out += [f"{k}: {v}" for k, v in headers]
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode())
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
            if close:
                return
    finally:
        writer.close()


async def main_async(args, buckets):
    delay = args.delay_ms / 1000.0
    server = await asyncio.start_server(
        lambda r, w: serve(r, w, buckets, delay), "127.0.0.1", args.port, backlog=512
    )
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        tmp = Path(args.port_file + ".tmp")
        tmp.write_text(f"{port}\n")
        tmp.replace(args.port_file)
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", action="append", default=[], metavar="BUCKET=DIR[@REGION]")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    buckets = {}
    for spec in args.load:
        name, _, rest = spec.partition("=")
        folder, _, region = rest.partition("@")
        bucket = buckets.setdefault(name, Bucket(region or "us-east-1"))
        bucket.load(Path(folder))
    try:
        asyncio.run(main_async(args, buckets))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
