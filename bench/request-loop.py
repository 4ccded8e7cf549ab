#!/usr/bin/env python3
"""A request loop for bench/compose-update.sh: `GET /` to 127.0.0.1:PORT every 10 ms, each on
a new connection (2 s connect/read timeouts), until the file STOP exists; then prints JSON:
requests, failed (no connection, reset, timeout or not a 200 answer), longest_gap_ms (the
longest time between two successful answers: the outage a user saw) and bodies (the distinct
answers in order, to check that the new version took over).

Usage: request-loop.py PORT STOP
"""
import json
import os
import socket
import sys
import time


def get(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.settimeout(2)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        raw = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or b" 200" not in head.split(b"\r\n")[0]:
        raise OSError("not a 200 answer: %r" % head[:40])
    return body.strip().decode(errors="replace")


def main():
    port, stop = int(sys.argv[1]), sys.argv[2]
    requests = failed = 0
    last_ok = time.monotonic()
    gap = 0.0
    bodies = []
    while not os.path.exists(stop):
        requests += 1
        try:
            body = get(port)
            now = time.monotonic()
            gap = max(gap, now - last_ok)
            last_ok = now
            if not bodies or bodies[-1] != body:
                bodies.append(body)
        except OSError:
            failed += 1
        time.sleep(0.01)
    gap = max(gap, time.monotonic() - last_ok)
    print(json.dumps({"requests": requests, "failed": failed,
                      "longest_gap_ms": round(gap * 1000, 1), "bodies": bodies}))


if __name__ == "__main__":
    main()
