#!/usr/bin/env python3
"""webhook_receiver.py: the receiving end of goip-webhookd in tests.

A threaded http.server on 127.0.0.1 that checks every delivery the way
goip-webhook(7) tells receivers to, and records it:

    webhook_receiver.py DIR [--port N] [--port-file FILE]

A POST to /NAME is checked against the secret in DIR/NAME.secret (read
again on every request, so a rotation applies at once): X-Goip-Signature
must be sha256=HMAC-SHA256(secret, X-Goip-Timestamp + "." + body), the
timestamp within 300 s, Content-Type application/json, X-Goip-Delivery
and X-Goip-Event equal to the body's eventId and event, and data.eventId
equal to eventId (pings: eventId 0). A delivery that passes is appended
to DIR/NAME.log as one JSON line {"eventId", "event", "delivery", "data",
"recv"} (recv: receipt time, Unix seconds) before it is answered; one
that fails is appended to DIR/NAME.bad and answered 400. The eventId of
every well-signed request is appended to DIR/NAME.seen as it arrives,
before any answer.

DIR/NAME.mode, read on every request, chooses the answer: absent or
"ok": 200; "status CODE COUNT": CODE for the next COUNT requests after
the file was written, then 200; "slow SECONDS": wait, then 200. Requests
answered with anything but 2xx are not logged as deliveries but counted
in DIR/NAME.tries (one line each).

The port (N, or a free one when 0) is written to FILE once it listens.
"""
import hashlib
import hmac
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
FAILS = {}      # NAME -> (mode file stamp, requests answered with CODE)


def append(path, line):
    with LOCK:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def mode_of(base):
    try:
        st = os.stat(base + ".mode")
        with open(base + ".mode", encoding="utf-8") as f:
            return f.read().split(), (st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        return ["ok"], None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        # Headers and body go out in two writes: without TCP_NODELAY the
        # second waits for the client's delayed ACK, 40 ms per answer.
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        pass

    def answer(self, code, text=b""):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def check(self, secret, body):
        h = self.headers
        if h.get("Content-Type") != "application/json":
            return "content type %r" % h.get("Content-Type")
        ts = h.get("X-Goip-Timestamp", "")
        if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
            return "timestamp %r" % ts
        want = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." +
                                    body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, h.get("X-Goip-Signature", "")):
            return "signature"
        doc = json.loads(body)
        if set(doc) != {"eventId", "event", "data"}:
            return "body keys %r" % sorted(doc)
        if str(doc["eventId"]) != h.get("X-Goip-Delivery"):
            return "X-Goip-Delivery %r" % h.get("X-Goip-Delivery")
        if doc["event"] != h.get("X-Goip-Event"):
            return "X-Goip-Event %r" % h.get("X-Goip-Event")
        if doc["event"] != "ping" and \
                doc["data"].get("eventId") != doc["eventId"]:
            return "data.eventId"
        return None

    def do_POST(self):
        name = self.path.strip("/").split("?")[0]
        base = os.path.join(self.server.dir, name)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        mode, stamp = mode_of(base)
        try:
            with open(base + ".secret", encoding="utf-8") as f:
                secret = f.read().strip()
        except FileNotFoundError:
            secret = ""
        why = self.check(secret, body) if secret else "no secret"
        if why is not None:
            append(base + ".bad", "%s: %s" % (why, body[:200]))
            self.answer(400, b"bad delivery\n")
            return
        append(base + ".seen", str(json.loads(body)["eventId"]))
        if mode[0] == "slow":
            time.sleep(float(mode[1]))
        if mode[0] == "status":
            with LOCK:
                old = FAILS.get(name)
                n = old[1] if old and old[0] == stamp else 0
                FAILS[name] = (stamp, n + 1)
            if n < int(mode[2]):
                append(base + ".tries", "%d" % int(mode[1]))
                self.answer(int(mode[1]), b"failing on purpose\n")
                return
        doc = json.loads(body)
        append(base + ".log", json.dumps({
            "eventId": doc["eventId"], "event": doc["event"],
            "delivery": self.headers.get("X-Goip-Delivery"),
            "data": doc["data"], "recv": time.time()}))
        self.answer(200, b"ok\n")


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    port, port_file = 0, None
    d = args.pop(0)
    while args:
        opt = args.pop(0)
        if opt == "--port":
            port = int(args.pop(0))
        elif opt == "--port-file":
            port_file = args.pop(0)
        else:
            sys.exit("unknown option " + opt)
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.dir = d
    if port_file:
        with open(port_file + ".tmp", "w", encoding="utf-8") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(port_file + ".tmp", port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
