#!/usr/bin/env python3
"""static_server.py DIR: a fast static HTTP/1.1 server on 127.0.0.1 for the benchmarks (the
threaded http.server of the standard library, about 300 requests a second here, would measure
itself, not the client). asyncio, one thread, every file of DIR read into memory at start;
keep-alive, ETag and Last-Modified, 304 on If-None-Match / If-Modified-Since. Files changed on
disk are read again when their mtime changes. Prints its port on the first line."""
import asyncio
import email.utils
import hashlib
import os
import sys

ROOT = os.path.abspath(sys.argv[1])
CACHE = {}


def lookup(name):
    path = os.path.join(ROOT, os.path.normpath("/" + name).lstrip("/"))
    try:
        st = os.stat(path)
    except OSError:
        return None
    c = CACHE.get(path)
    if c is None or c[0] != st.st_mtime_ns:
        with open(path, "rb") as f:
            data = f.read()
        etag = '"%s"' % hashlib.sha1(data).hexdigest()[:16]
        lm = email.utils.formatdate(int(st.st_mtime), usegmt=True)
        c = (st.st_mtime_ns, data, etag, lm, int(st.st_mtime))
        CACHE[path] = c
    return c


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            hdrs = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    hdrs[k.strip().lower()] = v.strip()
            c = lookup(target.split("?", 1)[0].lstrip("/"))
            if c is None:
                body, status, extra = b"not found\n", "404 Not Found", ""
            else:
                _, data, etag, lm, mtime = c
                extra = "ETag: %s\r\nLast-Modified: %s\r\n" % (etag, lm)
                inm, ims = hdrs.get("if-none-match"), hdrs.get("if-modified-since")
                fresh = False
                if inm is not None:
                    fresh = inm == etag
                elif ims:
                    try:
                        fresh = email.utils.parsedate_to_datetime(ims).timestamp() >= mtime
                    except (TypeError, ValueError):
                        pass
                body, status = (b"", "304 Not Modified") if fresh else (data, "200 OK")
            writer.write(("HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n" % (
                status, len(body) if status[0] != "3" else 0, extra)).encode())
            if method != "HEAD" and status[0] == "2" or status[0] == "4":
                writer.write(body)
            await writer.drain()
            if hdrs.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(srv.sockets[0].getsockname()[1], flush=True)
    async with srv:
        await srv.serve_forever()


asyncio.run(main())
