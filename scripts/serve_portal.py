#!/usr/bin/env python3
"""Serve the enquirer portal (portal/dist) on loopback, for one registry stack.

    python3 scripts/serve_portal.py --stack trustreg-local            # .trustreg/stacks/<name>.json
    python3 scripts/serve_portal.py --api http://127.0.0.1:4566/_aws/execute-api/<id>/api
    python3 scripts/serve_portal.py --stack trustreg-local --port 0 --url-file /tmp/portal-url

Python standard library only. Binds 127.0.0.1 (never another address). Serves the files of
the dist folder with correct types (application/wasm for .wasm: browsers refuse to stream-compile
anything else), `config.json` generated for the stack (`{"api": "<base URL, without /v1>"}`;
a config.json in dist is ignored), and index.html for every other path without a file type the
portal has (client-side routes: /devices/<regdevid>, /search, /account ...).

The API: the stack's API does not send CORS headers, so a page on this server could not call
it across origins. By default the server also forwards /api/... to the stack's API, and
config.json points the portal there (same origin). --direct writes the stack's own URL instead
(for an API that answers CORS itself).

Prints "portal: serving <url>" once listening; --url-file also writes the URL to a file. Stops on
SIGTERM/SIGINT.
"""

import argparse
import json
import mimetypes
import os
import posixpath
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPES = {
    ".wasm": "application/wasm",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
# A missing path ending in one of these is a missing file (404), not a client-side route. Routes
# carry RegDevIDs with dots (/devices/IN1.HLT.P07:imei:...), so "has a dot" is no test.
ASSET_SUFFIXES = set(TYPES) | {".jpg", ".jpeg", ".gif", ".webp", ".woff", ".woff2"}
API_PREFIX = "/api"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "host", "content-length"}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--stack", help="stack name: its outputs are .trustreg/stacks/<name>.json")
    src.add_argument("--api", help="the API's base URL, without /v1")
    p.add_argument("--dist", type=Path, default=ROOT / "portal" / "dist")
    p.add_argument("--port", type=int, default=8080, help="0: any free port")
    p.add_argument("--direct", action="store_true",
                   help="config.json names the API itself instead of this server's /api")
    p.add_argument("--url-file", type=Path, help="write the portal's URL here once listening")
    p.add_argument("--quiet", action="store_true", help="no request log")
    a = p.parse_args()

    if a.stack:
        outputs = ROOT / ".trustreg" / "stacks" / f"{a.stack}.json"
        try:
            api = json.loads(outputs.read_text())["local_api_url"]
        except (OSError, ValueError, KeyError) as e:
            p.error(f"--stack {a.stack}: no local_api_url in {outputs} ({e}); deploy it first")
    else:
        api = a.api
    api = api.rstrip("/")
    if api.endswith("/v1"):
        api = api[: -len("/v1")]
    dist = a.dist.resolve()
    if not (dist / "index.html").is_file():
        p.error(f"{dist}/index.html missing: build the portal first (scripts/build-portal)")

    server = Server(("127.0.0.1", a.port), make_handler(dist, api, a.direct, a.quiet))
    server.daemon_threads = True
    url = f"http://127.0.0.1:{server.server_address[1]}"
    config_api = api if a.direct else url + API_PREFIX
    server.config = json.dumps({"api": config_api}).encode()  # type: ignore[attr-defined]

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if a.url_file:
        tmp = a.url_file.with_name(a.url_file.name + ".tmp")
        tmp.write_text(url + "\n")
        tmp.replace(a.url_file)  # whole or absent: a reader polling it never sees half a URL
    print(f"portal: serving {url} (API {api}{'' if a.direct else ' via ' + url + API_PREFIX})", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if a.url_file:
            try:
                a.url_file.unlink()
            except OSError:
                pass
    return 0


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A browser that navigates away drops its pending requests: not the server's error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def make_handler(dist: Path, api: str, direct: bool, quiet: bool):
    class Handler(SimpleHTTPRequestHandler):
        server_version = "trustreg-portal"
        extensions_map = {**mimetypes.types_map, **TYPES, "": "application/octet-stream"}

        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(dist), **kwargs)

        def log_message(self, fmt, *args):
            if not quiet:
                super().log_message(fmt, *args)

        # ---------------------------------------------------------------- static files
        def do_GET(self):
            if self.proxied():
                return self.proxy()
            path = urllib.parse.urlsplit(self.path).path
            if path == "/config.json":
                return self.send_bytes(self.server.config, "application/json")
            if not self.is_file(path) and posixpath.splitext(path)[1].lower() not in ASSET_SUFFIXES:
                self.path = "/index.html"  # a client-side route
            super().do_GET()

        def do_HEAD(self):
            if self.proxied():
                return self.proxy()
            path = urllib.parse.urlsplit(self.path).path
            if not self.is_file(path) and posixpath.splitext(path)[1].lower() not in ASSET_SUFFIXES:
                self.path = "/index.html"
            super().do_HEAD()

        def is_file(self, url_path: str) -> bool:
            local = Path(self.translate_path(url_path))
            return local.is_file() and dist in local.resolve().parents

        def end_headers(self):
            # index.html and config.json change with every build and deploy; the wasm-bindgen
            # output keeps its names, so nothing is cached for long.
            self.send_header("Cache-Control", "no-cache")
            self.send_header("X-Content-Type-Options", "nosniff")
            super().end_headers()

        def send_bytes(self, body: bytes, ctype: str, status: int = 200):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        # ---------------------------------------------------------------- the API, same origin
        def proxied(self) -> bool:
            path = urllib.parse.urlsplit(self.path).path
            return not direct and (path == API_PREFIX or path.startswith(API_PREFIX + "/"))

        def proxy(self):
            target = api + self.path[len(API_PREFIX):]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            req = urllib.request.Request(target, data=body, headers=headers, method=self.command)
            try:
                resp = urllib.request.urlopen(req, timeout=60)
            except urllib.error.HTTPError as e:
                resp = e  # 4xx/5xx answers are answers: pass them on as they are
            except (urllib.error.URLError, OSError) as e:
                msg = json.dumps({"type": "about:blank", "title": "API unreachable", "status": 502,
                                  "detail": f"{api}: {getattr(e, 'reason', e)}"}).encode()
                return self.send_bytes(msg, "application/problem+json", 502)
            with resp:
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.headers.items():
                    if k.lower() not in HOP_BY_HOP and k.lower() not in ("server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                super().end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

        def other(self):
            if self.proxied():
                return self.proxy()
            self.send_error(HTTPStatus.METHOD_NOT_ALLOWED)

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = other

    return Handler


if __name__ == "__main__":
    sys.exit(main())
