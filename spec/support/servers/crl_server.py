#!/usr/bin/env python3
"""crl_server.py: an HTTP server on 127.0.0.1 for the tests of the crl plugin: a distribution
point that serves CRL files well (ETag, Last-Modified, conditional requests) or badly, as the
test decides between runs. Python standard library only. Prints its port (first line of
stdout), serves until killed or for --lifetime seconds.

  /f/<file>            the file of the folder, with ETag and Last-Modified; If-None-Match and
                       If-Modified-Since give 304
  /s/<name>            a source whose behaviour routes.json in the folder gives (re-read on each
                       request): {"<name>": {"mode": M, "file": F, ...}}, modes:
      file             as /f/<file>
      truncated        Content-Length of the whole file, half of it sent, connection closed
      short_length     Content-Length of half the file, then the whole file (the client
                       stops at the announced length: a cut CRL)
      chunked_cut      chunked encoding, half of the file as one chunk, closed without the
                       last chunk
      endless          a body without end
      slow             one byte every "interval" seconds (default 0.5)
      delay            the file after "ms" milliseconds
      loop             302 to itself
      tofile           302 to file:///etc/passwd
      redirect         302 to /s/<"to">
      status           the status "code" (default 500) with a short body
  /stats               JSON: {"<path>": {"<status>": count}}
  /peak                JSON: {"delay": n}, the most requests of the delay mode in flight at once
                       since the last /peak (that downloads overlap is read here, not from a
                       time that load stretches)
"""
import argparse
import email.utils
import hashlib
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

ROOT = "."
STATS = {}
LOCK = threading.Lock()
DELAY = {"now": 0, "peak": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "crl_server/1"

    def log_message(self, fmt, *args):
        pass

    def count(self, status):
        with LOCK:
            s = STATS.setdefault(urlsplit(self.path).path, {})
            s[str(status)] = s.get(str(status), 0) + 1

    def send(self, status, body=b"", headers=None, close=False):
        self.count(status)
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

    def do_GET(self):
        try:
            self.route()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def read_file(self, name):
        path = os.path.join(ROOT, os.path.normpath("/" + name).lstrip("/"))
        try:
            with open(path, "rb") as f:
                return f.read(), os.stat(path).st_mtime
        except OSError:
            return None, None

    def serve_file(self, name):
        data, mtime = self.read_file(name)
        if data is None:
            return self.send(404, b"no such file\n")
        etag = '"%s"' % hashlib.sha1(data).hexdigest()[:16]
        lm = email.utils.formatdate(int(mtime), usegmt=True)
        headers = {"ETag": etag, "Last-Modified": lm, "Content-Type": "application/pkix-crl"}
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            if inm == etag:
                return self.send(304, b"", {"ETag": etag})
        else:
            ims = self.headers.get("If-Modified-Since")
            if ims:
                try:
                    if email.utils.parsedate_to_datetime(ims).timestamp() >= int(mtime):
                        return self.send(304, b"", {"Last-Modified": lm})
                except (TypeError, ValueError):
                    pass
        return self.send(200, data, headers)

    def route(self):
        u = urlsplit(self.path)
        p = unquote(u.path)
        if p == "/stats":
            with LOCK:
                body = json.dumps(STATS).encode()
            return self.send(200, body, {"Content-Type": "application/json"})
        if p == "/peak":
            with LOCK:
                body = json.dumps({"delay": DELAY["peak"]}).encode()
                DELAY["peak"] = DELAY["now"]
            return self.send(200, body, {"Content-Type": "application/json"})
        if p.startswith("/f/"):
            return self.serve_file(p[3:])
        if p.startswith("/s/"):
            try:
                with open(os.path.join(ROOT, "routes.json")) as f:
                    routes = json.load(f)
            except (OSError, ValueError):
                routes = {}
            r = routes.get(p[3:])
            if r is None:
                return self.send(404, b"no such source\n")
            return self.behave(r)
        return self.send(404, b"not found\n")

    def behave(self, r):
        mode = r.get("mode", "file")
        if mode == "file":
            return self.serve_file(r["file"])
        if mode in ("truncated", "short_length", "chunked_cut", "slow", "delay"):
            data, _ = self.read_file(r["file"])
            if data is None:
                return self.send(404, b"no such file\n")
        if mode == "truncated":
            self.count(200)
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "short_length":
            self.count(200)
            self.send_response(200)
            self.send_header("Content-Length", str(len(data) // 2))
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            self.wfile.write(data)
            return
        if mode == "chunked_cut":
            self.count(200)
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            half = data[: len(data) // 2]
            self.wfile.write(b"%x\r\n" % len(data) + half)
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "endless":
            self.count(200)
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            chunk = b"0" * 65536
            while True:
                self.wfile.write(chunk)
        if mode == "slow":
            interval = float(r.get("interval", 0.5))
            self.count(200)
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
                time.sleep(interval)
            return
        if mode == "delay":
            with LOCK:
                DELAY["now"] += 1
                DELAY["peak"] = max(DELAY["peak"], DELAY["now"])
            try:
                time.sleep(int(r.get("ms", 500)) / 1000)
            finally:
                with LOCK:
                    DELAY["now"] -= 1
            return self.send(200, data)
        if mode == "loop":
            return self.send(302, b"", {"Location": self.path})
        if mode == "tofile":
            return self.send(302, b"", {"Location": "file:///etc/passwd"})
        if mode == "redirect":
            return self.send(302, b"", {"Location": "/s/" + r["to"]})
        if mode == "status":
            code = int(r.get("code", 500))
            # a 304 has no body (RFC 9110 15.4.5)
            return self.send(code, b"" if code == 304 else b"server error\n")
        return self.send(404, b"unknown mode\n")


def main():
    global ROOT
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=900)
    ap.add_argument("--dir", default=".")
    a = ap.parse_args()
    ROOT = os.path.abspath(a.dir)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print(srv.server_address[1], flush=True)
    t = threading.Timer(a.lifetime, srv.shutdown)
    t.daemon = True
    t.start()
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
