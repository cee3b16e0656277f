#!/usr/bin/python3
"""The example shop: a small HTTP service in Python (standard library only)
whose migrations, maintenance and feature flags are operated through
opsctl-port (docs/sidecar.md, "A Python service"). It knows nothing of
opsctl: its flags come from opsctl-port's OFREP listener over plain HTTP.

    python3 app.py --port 8080 --db var/app.db --ofrep http://127.0.0.1:9914

GET /items lists up to page_size items; POST /items {"name", "price_cents"}
adds one (503 while maintenance_mode is on); GET /healthz says whether the
schema is migrated. It prints one line, "listening on HOST:PORT", when ready.
"""
import argparse
import http.client
import json
import os
import socket
import sqlite3
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FLAG_DEFAULTS = {"maintenance_mode": False, "page_size": 20}
CACHE_SECONDS = 0.5  # opsctl-port promises a change within 1 s; this keeps reads cheap.


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix socket (OFREP may listen on one)."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Flags:
    """Feature flags read over OFREP (POST /ofrep/v1/evaluate/flags/{key}), cached briefly."""

    def __init__(self, target):
        self.target = target
        self.cache = {}
        self.lock = threading.Lock()

    def _connection(self):
        if self.target.startswith("unix:"):
            return UnixHTTPConnection(self.target[len("unix:"):], 2)
        url = urllib.parse.urlsplit(self.target)
        return http.client.HTTPConnection(url.hostname, url.port, timeout=2)

    def get(self, key, targeting_key=None):
        now = time.monotonic()
        with self.lock:
            hit = self.cache.get((key, targeting_key))
            if hit and now - hit[0] < CACHE_SECONDS:
                return hit[1]
        value = FLAG_DEFAULTS.get(key)
        if self.target:
            try:
                conn = self._connection()
                context = {"targetingKey": targeting_key} if targeting_key else {}
                conn.request("POST", "/ofrep/v1/evaluate/flags/" + urllib.parse.quote(key, safe=""),
                             body=json.dumps({"context": context}), headers={"content-type": "application/json"})
                res = conn.getresponse()
                body = json.loads(res.read() or b"{}")
                conn.close()
                if res.status == 200 and "value" in body:
                    value = body["value"]
            except (OSError, ValueError) as e:
                print(f"flags: OFREP unreachable ({e}); using the default of {key}", file=sys.stderr)
        with self.lock:
            self.cache[(key, targeting_key)] = (now, value)
        return value


def migrated(db):
    with sqlite3.connect(db) as c:
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {"items", "orders"} <= tables


def make_handler(db, flags):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/healthz":
                ok = migrated(db)
                return self.answer(200 if ok else 503, {"ok": ok, "detail": "schema migrated" if ok else "migrations pending"})
            if self.path == "/items":
                if not migrated(db):
                    return self.answer(503, {"error": "migrations pending"})
                size = int(flags.get("page_size"))
                with sqlite3.connect(db) as c:
                    rows = c.execute("SELECT id, name, price_cents FROM items ORDER BY id LIMIT ?", (size,)).fetchall()
                return self.answer(200, {"items": [{"id": r[0], "name": r[1], "price_cents": r[2]} for r in rows], "page_size": size})
            self.answer(404, {"error": "not found"})

        def do_POST(self):
            if self.path != "/items":
                return self.answer(404, {"error": "not found"})
            if flags.get("maintenance_mode"):
                return self.answer(503, {"error": "maintenance: writes are paused"})
            if not migrated(db):
                return self.answer(503, {"error": "migrations pending"})
            length = int(self.headers.get("content-length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                name, price = str(body["name"]), int(body.get("price_cents", 0))
            except (ValueError, KeyError, TypeError):
                return self.answer(400, {"error": "expected {name, price_cents}"})
            with sqlite3.connect(db) as c:
                cur = c.execute("INSERT INTO items (name, price_cents) VALUES (?, ?)", (name, price))
            self.answer(201, {"id": cur.lastrowid, "name": name, "price_cents": price})

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--db", default=os.environ.get("APP_DB", "var/app.db"))
    p.add_argument("--ofrep", default="", help="OFREP base: http://127.0.0.1:PORT or unix:/path")
    a = p.parse_args()
    os.makedirs(os.path.dirname(os.path.abspath(a.db)), exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(a.db, Flags(a.ofrep)))
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
