#!/usr/bin/env python3
"""hostile.py: a small HTTP server on 127.0.0.1 that misbehaves on purpose, for the tests of
certbench.http. Python standard library only. Prints the port it listens on (first line of
stdout), serves until killed or for --lifetime seconds (so a crashed test leaves nothing).

Paths:
  /ok                 200 "hello\\n"
  /bytes?n=N          200, N bytes
  /truncated          Content-Length: 1000, 100 bytes, then the connection closes
  /endless            a body with no end (no length), until the client goes away
  /slow?interval=S    Content-Length: 1000, one byte every S seconds (default 0.5)
  /loop               302 to itself
  /redirect?n=N       a chain of N redirects ending at /ok
  /tofile             302 to file:///etc/passwd
  /toftp              302 to ftp://127.0.0.1/x
  /to?url=U           302 to U
  /500                500 with a body
  /etag               ETag "v1"; If-None-Match: "v1" gives 304
  /lm                 Last-Modified: Sun, 01 Jan 2023 00:00:00 GMT; If-Modified-Since at or
                      after it gives 304
  /big-length         Content-Length: 10^12 and a little data
  /delay?ms=M         200 after M milliseconds
  /peak               JSON: {"delay": n}, the most /delay requests in flight at once since the
                      last /peak (that transfers overlap is read here, not from a time that load
                      stretches)
  /echo               200, JSON: method, path, headers, body
  /headers            200 with repeated and folded header fields
  /nothing            closes the connection without a reply
  /garbage            a reply that is not HTTP
  absolute-form URIs  (a request sent to a proxy): 200 "proxied <uri>"
"""
import argparse
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LAST_MODIFIED = "Sun, 01 Jan 2023 00:00:00 GMT"
LAST_MODIFIED_EPOCH = 1672531200
LOCK = threading.Lock()
DELAY = {"now": 0, "peak": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostile/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def send(self, status, body=b"", headers=None, close=False):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        self.do_GET()

    def do_PUT(self):
        self.do_GET()

    def do_GET(self):
        try:
            self.route()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def route(self):
        if self.path.startswith("http://") or self.path.startswith("https://"):
            return self.send(200, ("proxied " + self.path).encode())
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        p = u.path
        if p == "/ok":
            return self.send(200, b"hello\n", {"Content-Type": "text/plain"})
        if p == "/bytes":
            n = int(q.get("n", "0"))
            return self.send(200, bytes(i % 251 for i in range(n)))
        if p == "/nolength":
            # no Content-Length: the size is known only as the body arrives
            n = int(q.get("n", "0"))
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            body = bytes(i % 251 for i in range(n))
            for i in range(0, n, 4096):
                self.wfile.write(body[i:i + 4096])
                self.wfile.flush()
            return
        if p == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"x" * 100)
            self.wfile.flush()
            self.close_connection = True
            return
        if p == "/endless":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            chunk = b"e" * 65536
            while True:
                self.wfile.write(chunk)
        if p == "/slow":
            interval = float(q.get("interval", "0.5"))
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for _ in range(1000):
                self.wfile.write(b"s")
                self.wfile.flush()
                time.sleep(interval)
            return
        if p == "/loop":
            return self.send(302, b"", {"Location": "/loop"})
        if p == "/redirect":
            n = int(q.get("n", "1"))
            to = "/ok" if n <= 1 else "/redirect?n=%d" % (n - 1)
            return self.send(302, b"", {"Location": to})
        if p == "/tofile":
            return self.send(302, b"", {"Location": "file:///etc/passwd"})
        if p == "/to":
            return self.send(302, b"", {"Location": q.get("url", "/ok")})
        if p == "/toftp":
            return self.send(302, b"", {"Location": "ftp://127.0.0.1/x"})
        if p == "/500":
            return self.send(500, b"oops\n")
        if p == "/etag":
            if self.headers.get("If-None-Match") == '"v1"':
                return self.send(304, b"", {"ETag": '"v1"'})
            return self.send(200, b"tagged\n", {"ETag": '"v1"'})
        if p == "/lm":
            ims = self.headers.get("If-Modified-Since")
            if ims:
                from email.utils import parsedate_to_datetime
                try:
                    if parsedate_to_datetime(ims).timestamp() >= LAST_MODIFIED_EPOCH:
                        return self.send(304, b"", {"Last-Modified": LAST_MODIFIED})
                except (TypeError, ValueError):
                    pass
            return self.send(200, b"dated\n", {"Last-Modified": LAST_MODIFIED})
        if p == "/big-length":
            self.send_response(200)
            self.send_header("Content-Length", str(10 ** 12))
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            self.wfile.write(b"b" * 1000)
            return
        if p == "/delay":
            with LOCK:
                DELAY["now"] += 1
                DELAY["peak"] = max(DELAY["peak"], DELAY["now"])
            try:
                time.sleep(int(q.get("ms", "100")) / 1000)
            finally:
                with LOCK:
                    DELAY["now"] -= 1
            return self.send(200, b"late\n")
        if p == "/peak":
            with LOCK:
                body = json.dumps({"delay": DELAY["peak"]}).encode()
                DELAY["peak"] = DELAY["now"]
            return self.send(200, body, {"Content-Type": "application/json"})
        if p == "/echo":
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            doc = {"method": self.command, "path": self.path,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body.decode("latin-1")}
            return self.send(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})
        if p == "/headers":
            self.send_response(200)
            self.send_header("X-Twice", "one")
            self.send_header("X-Twice", "two")
            self.send_header("X-Folded", "first\r\n  second")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"h\n")
            return
        if p == "/nothing":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if p == "/garbage":
            self.close_connection = True
            self.wfile.write(b"\x00\x01\x02 this is not HTTP\r\n\r\n")
            return
        return self.send(404, b"not found\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=900)
    a = ap.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    # the default backlog of 5 drops the SYNs of a burst of 16 connections (the client
    # retries a second later), which would measure the server, not the client
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print(srv.server_address[1], flush=True)
    t = threading.Timer(a.lifetime, srv.shutdown)
    t.daemon = True
    t.start()
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
