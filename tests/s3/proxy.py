#!/usr/bin/env python3
"""A loopback HTTP proxy in front of an S3 server (moto): adds latency and injects faults.

Usage: proxy.py --upstream http://127.0.0.1:PORT [--port 0] [--port-file PATH] [--delay-ms 20]

Every request is forwarded to the upstream server after --delay-ms, as S3 is that far from a
client; the proxy keeps client connections alive (TCP_NODELAY) even though moto closes its
own after every answer. Faults are rules set over an admin API, matched in order:

  PUT    /__proxy/rules   [{"path": "SUBSTRING", "method": "GET", "status": 503,
                            "code": "SlowDown", "times": 1}, ...]
         path: a substring of the request's decoded path (e.g. an object key); method:
         optional; times: how many requests to fail (-1: all); status/code: the S3 error;
         message: optional, its <Message>.
  GET    /__proxy/requests  every request seen: [{"method", "path", "query", "status"}]
  DELETE /__proxy/requests  forget them
  GET    /__proxy/health

Answers pass through unchanged but for one place where moto differs from S3 (see
s3_compatible). Only 127.0.0.1 is served and only a loopback upstream is accepted. Stops on SIGTERM/SIGINT.
"""

import argparse
import http.client
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailers", "transfer-encoding", "upgrade", "content-length",
}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.requests = []

    def fault_for(self, method, path):
        """The first rule that matches and still has uses left, used up by one."""
        with self.lock:
            for rule in self.rules:
                if rule.get("method") not in (None, method):
                    continue
                if rule["path"] not in path:
                    continue
                if rule.get("times", -1) == 0:
                    continue
                if rule.get("times", -1) > 0:
                    rule["times"] -= 1
                return dict(rule)
        return None

    def record(self, method, path, query, status):
        with self.lock:
            self.requests.append(
                {"method": method, "path": path, "query": query, "status": status}
            )


def error_body(code, resource, message="injected by tests/s3/proxy.py"):
    message = message.replace("&", "&amp;").replace("<", "&lt;")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<Resource>{resource}</Resource><RequestId>proxy</RequestId></Error>"
    ).encode()


def s3_compatible(method, query, data):
    """moto 5.2.1 names the root of GetBucketVersioning's answer GetBucketVersioningResponse;
    S3 names it VersioningConfiguration, and the AWS SDK for Rust reads only that."""
    if method == "GET" and query.split("&")[0] in ("versioning", "versioning="):
        return data.replace(b"GetBucketVersioningResponse", b"VersioningConfiguration")
    return data


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "trailcheck-s3-proxy/1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status, body, content_type, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _admin(self, path):
        state = self.server.state
        if path == "/__proxy/health":
            return self._reply(200, b'{"ok": true}', "application/json")
        if path == "/__proxy/rules" and self.command == "PUT":
            length = int(self.headers.get("Content-Length") or 0)
            rules = json.loads(self.rfile.read(length) or b"[]")
            with state.lock:
                state.rules = rules
            return self._reply(200, b'{"ok": true}', "application/json")
        if path == "/__proxy/requests" and self.command == "GET":
            with state.lock:
                body = json.dumps(state.requests).encode()
            return self._reply(200, body, "application/json")
        if path == "/__proxy/requests" and self.command == "DELETE":
            with state.lock:
                state.requests = []
            return self._reply(200, b'{"ok": true}', "application/json")
        return self._reply(404, b'{"error": "no such admin route"}', "application/json")

    def _forward(self):
        split = urlsplit(self.path)
        path = unquote(split.path)
        if path.startswith("/__proxy/"):
            return self._admin(path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.server.delay:
            time.sleep(self.server.delay)
        fault = self.server.state.fault_for(self.command, path)
        if fault:
            status = int(fault.get("status", 503))
            self.server.state.record(self.command, path, split.query, status)
            error = error_body(fault.get("code", "SlowDown"), path,
                               fault.get("message", "injected by tests/s3/proxy.py"))
            return self._reply(status, error, "application/xml")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=60)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            passed = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP]
            status = answer.status
        finally:
            upstream.close()
        data = s3_compatible(self.command, split.query, data)
        self.server.state.record(self.command, path, split.query, status)
        self.send_response(status)
        for name, value in passed:
            self.send_header(name, value)
        # A HEAD answer has no body but tells the length of the object.
        length = answer.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT of the S3 server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the chosen port here once listening")
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    upstream = urlsplit(args.upstream)
    if upstream.hostname not in LOOPBACK or upstream.scheme != "http":
        parser.error("the upstream must be http:// on loopback")

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    server.state = State()
    server.delay = args.delay_ms / 1000.0
    server.upstream = (upstream.hostname, upstream.port or 80)
    port = server.server_address[1]
    if args.port_file:
        tmp = Path(args.port_file + ".tmp")
        tmp.write_text(f"{port}\n")
        tmp.replace(args.port_file)
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
