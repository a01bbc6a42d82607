#!/usr/bin/env python3
"""Loopback stand-in for the AWS JSON 1.1 calls `aws cloudtrail validate-logs` makes besides S3.

Answers, on 127.0.0.1 only:
  CloudTrail     ListPublicKeys, DescribeTrails, GetTrail
  Organizations  DescribeOrganization

State lives in *scopes*. A request's scope is the access key id in its SigV4 Authorization
header (`Credential=AKID/date/REGION/service/aws4_request`), so concurrent tests that each use
their own AWS_ACCESS_KEY_ID never see each other's keys or trails. A scope without its own
keys falls back to the keys given on the command line (scope "default").

Public keys are kept exactly as `aws cloudtrail list-public-keys` prints them: `Value` stays the
base64 text of the DER (the CLI's parser leaves blobs as base64 and b64decodes them itself).
ListPublicKeys returns the keys whose validity overlaps [StartTime, EndTime], as CloudTrail does.
Keys may be registered for one region (the region of the request's credential scope) or all.

Admin endpoints (JSON bodies; `scope` defaults to "default", `region` to all regions):
  GET    /admin/health                         -> {"ok": true}
  PUT    /admin/keys?scope=S[&region=R]        body: {"PublicKeyList": [...]}  (replaces)
  PUT    /admin/trails?scope=S                 body: {"trailList": [...]}      (replaces)
  PUT    /admin/organization?scope=S           body: {"Organization": {"Id": "o-..."}}
  GET    /admin/calls?scope=S                  -> {"calls": [{"action", "region", "params"}]}
  DELETE /admin/scope?scope=S                  forget a scope (the default scope is reset)

Usage: stub.py [--host 127.0.0.1] [--port 0] [--keys FILE_OR_DIR ...] [--port-file PATH]
Prints `listening on http://HOST:PORT` once it answers; with --port 0 the OS picks the port.
"""

import argparse
import base64
import binascii
import datetime as dt
import hashlib
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

DEFAULT_SCOPE = "default"
ALL_REGIONS = "*"
CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")


def parse_time(value):
    """A timestamp from a keys file or a request: epoch seconds or an ISO 8601 string."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.timezone.utc)
    text = str(value).strip()
    try:
        return dt.datetime.fromtimestamp(float(text), dt.timezone.utc)
    except ValueError:
        pass
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


def epoch(value):
    """A key timestamp as JSON 1.1 sends it (epoch seconds), or None."""
    parsed = parse_time(value)
    return None if parsed is None else parsed.timestamp()


def load_key_list(document):
    """Checks a list-public-keys document and returns its PublicKeyList."""
    keys = document.get("PublicKeyList")
    if not isinstance(keys, list):
        raise ValueError("expected {\"PublicKeyList\": [...]}")
    for key in keys:
        if not isinstance(key, dict) or "Value" not in key:
            raise ValueError("every public key needs a base64 Value")
        binascii.a2b_base64(key["Value"])  # reject non-base64 early
        if "Fingerprint" not in key:
            key["Fingerprint"] = hashlib.md5(base64.b64decode(key["Value"])).hexdigest()
    return keys


def load_key_files(paths):
    """Every PublicKeyList in the given files, or in the *.json files of given folders."""
    keys = []
    for path in map(Path, paths):
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        for file in files:
            keys.extend(load_key_list(json.loads(file.read_text())))
    return keys


class State:
    """Keys, trails and organizations per scope, and a log of the calls each scope made."""

    def __init__(self, default_keys):
        self._lock = threading.Lock()
        self._default_keys = default_keys
        self._scopes = {}
        self.reset(DEFAULT_SCOPE)

    def _scope(self, name):
        return self._scopes.setdefault(
            name, {"keys": {}, "trails": [], "organization": None, "calls": []}
        )

    def reset(self, name):
        with self._lock:
            self._scopes.pop(name, None)
            if name == DEFAULT_SCOPE:
                self._scope(name)["keys"][ALL_REGIONS] = list(self._default_keys)

    def set_keys(self, name, region, keys):
        with self._lock:
            self._scope(name)["keys"][region or ALL_REGIONS] = keys

    def set_trails(self, name, trails):
        with self._lock:
            self._scope(name)["trails"] = trails

    def set_organization(self, name, organization):
        with self._lock:
            self._scope(name)["organization"] = organization

    def record(self, name, action, region, params):
        with self._lock:
            self._scope(name)["calls"].append(
                {"action": action, "region": region, "params": params}
            )

    def calls(self, name):
        with self._lock:
            return list(self._scope(name)["calls"])

    def keys(self, name, region):
        with self._lock:
            for scope in (name, DEFAULT_SCOPE):
                by_region = self._scopes.get(scope, {}).get("keys", {})
                if region in by_region:
                    return list(by_region[region])
                if ALL_REGIONS in by_region:
                    return list(by_region[ALL_REGIONS])
            return []

    def trails(self, name):
        with self._lock:
            return list(self._scope(name)["trails"])

    def organization(self, name):
        with self._lock:
            return self._scope(name)["organization"]


class ApiError(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def overlaps(key, start, end):
    key_start = parse_time(key.get("ValidityStartTime"))
    key_end = parse_time(key.get("ValidityEndTime"))
    if start is not None and key_end is not None and key_end < start:
        return False
    if end is not None and key_start is not None and key_start > end:
        return False
    return True


def list_public_keys(state, scope, region, params):
    start, end = parse_time(params.get("StartTime")), parse_time(params.get("EndTime"))
    keys = [k for k in state.keys(scope, region) if overlaps(k, start, end)]
    out = []
    for key in keys:
        item = {"Value": key["Value"], "Fingerprint": key["Fingerprint"]}
        for field in ("ValidityStartTime", "ValidityEndTime"):
            if key.get(field) is not None:
                item[field] = epoch(key[field])
        out.append(item)
    return {"PublicKeyList": out}


def describe_trails(state, scope, region, params):
    names = params.get("trailNameList") or []
    trails = state.trails(scope)
    if names:
        trails = [t for t in trails if t.get("Name") in names or t.get("TrailARN") in names]
    return {"trailList": trails}


def get_trail(state, scope, region, params):
    wanted = params.get("Name")
    for trail in state.trails(scope):
        if wanted in (trail.get("Name"), trail.get("TrailARN")):
            return {"Trail": trail}
    raise ApiError("TrailNotFoundException", f"Unknown trail: {wanted}")


def describe_organization(state, scope, region, params):
    organization = state.organization(scope)
    if organization is None:
        raise ApiError(
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        )
    return {"Organization": organization}


ACTIONS = {
    "CloudTrail_20131101.ListPublicKeys": list_public_keys,
    "CloudTrail_20131101.DescribeTrails": describe_trails,
    "CloudTrail_20131101.GetTrail": get_trail,
    "AWSOrganizationsV20161128.DescribeOrganization": describe_organization,
}


def action_for(target):
    """`com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.ListPublicKeys` -> handler."""
    parts = target.split(".")
    return ".".join(parts[-2:]) if len(parts) >= 2 else target


class Handler(BaseHTTPRequestHandler):
    server_version = "trailcheck-keystub/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet unless asked
        if self.server.verbose:
            super().log_message(fmt, *args)

    def _send(self, status, body, content_type="application/x-amz-json-1.1"):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw.strip() else {}

    def _admin(self, method):
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        scope = query.get("scope", DEFAULT_SCOPE)
        state = self.server.state
        route = (method, url.path.rstrip("/"))
        try:
            if route == ("GET", "/admin/health"):
                return self._send(200, {"ok": True}, "application/json")
            if route == ("PUT", "/admin/keys"):
                state.set_keys(scope, query.get("region"), load_key_list(self._body()))
            elif route == ("PUT", "/admin/trails"):
                trails = self._body().get("trailList")
                if not isinstance(trails, list):
                    raise ValueError("expected {\"trailList\": [...]}")
                state.set_trails(scope, trails)
            elif route == ("PUT", "/admin/organization"):
                body = self._body()
                state.set_organization(scope, body.get("Organization", body))
            elif route == ("GET", "/admin/calls"):
                return self._send(200, {"calls": state.calls(scope)}, "application/json")
            elif route == ("DELETE", "/admin/scope"):
                state.reset(scope)
            else:
                return self._send(404, {"error": f"no route {method} {url.path}"}, "application/json")
        except (ValueError, binascii.Error) as e:
            return self._send(400, {"error": str(e)}, "application/json")
        return self._send(200, {"ok": True}, "application/json")

    def _api(self):
        auth = self.headers.get("Authorization", "")
        match = CREDENTIAL_RE.search(auth)
        scope, region = (match.group(1), match.group(2)) if match else (DEFAULT_SCOPE, "us-east-1")
        target = self.headers.get("X-Amz-Target", "")
        try:
            params = self._body()
            handler = ACTIONS.get(action_for(target))
            self.server.state.record(scope, action_for(target), region, params)
            if handler is None:
                raise ApiError("UnknownOperationException", f"stub does not answer {target!r}")
            return self._send(200, handler(self.server.state, scope, region, params))
        except ApiError as e:
            return self._send(e.status, {"__type": e.code, "message": e.message})
        except (ValueError, TypeError) as e:
            return self._send(400, {"__type": "ValidationException", "message": str(e)})

    def do_GET(self):
        if self.path.startswith("/admin/"):
            return self._admin("GET")
        return self._send(404, {"error": "not found"}, "application/json")

    def do_PUT(self):
        return self._admin("PUT")

    def do_DELETE(self):
        return self._admin("DELETE")

    def do_POST(self):
        if self.path.startswith("/admin/"):
            return self._admin("PUT")
        return self._api()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--keys", action="append", default=[], help="list-public-keys JSON file or folder of them")
    parser.add_argument("--port-file", help="write the chosen port here once listening")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the stub only listens on loopback")

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.state = State(load_key_files(args.keys))
    server.verbose = args.verbose
    port = server.server_address[1]
    if args.port_file:
        tmp = Path(args.port_file + ".tmp")
        tmp.write_text(f"{port}\n")
        tmp.replace(args.port_file)
    print(f"listening on http://{args.host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
