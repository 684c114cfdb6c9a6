#!/usr/bin/env python3
"""A real SOFA Bolt peer for Skiff's end-to-end tests, from anthunder (Ant's Python Bolt library, on PyPI).

  anthunder_bolt.py serve
      Runs anthunder's SockListener (socketserver, a thread per connection) on a free loopback port and prints
      "listening PORT". It answers ONE request per connection and then closes it (shutdown, close), as anthunder's
      handler returns after one request. Serves until killed.
  anthunder_bolt.py call PORT CALLS [THREADS]
      Makes CALLS synchronous calls with anthunder's Client to 127.0.0.1:PORT from THREADS threads (default 1), each
      checking its echo, and prints "calls=N ok=N failed=N" then up to five failures.

One fix is patched in: anthunder's handler spins for ever on a connection closed before a whole request (see
_readexactly_or_eof); nothing of the protocol is touched. Loopback only. anthunder's client also tries to register with a mesh agent on 127.0.0.1:13330 and carries on
without one.
"""
import errno
import logging
import socketserver
import sys
import threading

logging.disable(logging.CRITICAL)

from anthunder import BaseService, Client, SERVICE_MAP, SockListener  # noqa: E402
from anthunder.listener.sock_listener import SockBoltHandler  # noqa: E402
from mytracer.helpers import new_span  # noqa: E402

INTERFACE = "com.skiff.test.Echo:1.0"


class EchoService(BaseService):
    def echo(self, body):
        return b"anthunder:" + body


def _readexactly_or_eof(self, n):
    """anthunder's SockBoltHandler._readexactly, stopping at EOF: the original loops for ever (at full CPU) on a
    connection closed before a whole request, such as the idle one its own client's pool opens and drops. The
    handler already treats ECONNRESET as the peer going away."""
    bs = b""
    while len(bs) < n:
        chunk = self.rfile.read(n - len(bs))
        if not chunk:
            raise ConnectionResetError(errno.ECONNRESET, "closed before a whole request")
        bs += chunk
    return bs


def serve():
    SockBoltHandler._readexactly = _readexactly_or_eof
    # socketserver's listen backlog is 5: a burst of new connections (one per request here) overflows it and the
    # kernel drops SYNs, which costs a second each. A real deployment sets it higher; so does this.
    socketserver.ThreadingTCPServer.request_queue_size = 256
    listener = SockListener(("127.0.0.1", 0), "skiff-test-server")
    listener.handler.register_interface(INTERFACE, EchoService)
    print("listening", listener.server.server_address[1], flush=True)
    listener.run_forever()


def call(port, calls, threads):
    SERVICE_MAP[INTERFACE] = ("127.0.0.1", port)
    client = Client("skiff-test-client")
    lock = threading.Lock()
    ok = [0]
    failures = []

    def worker(t, n):
        for i in range(n):
            body = ("t%d-%d" % (t, i)).encode()
            try:
                with new_span("echo") as span:
                    got = client.invoke_sync(INTERFACE, "echo", body, spanctx=span.context, timeout_ms=5000)
                if got == b"anthunder:" + body:
                    with lock:
                        ok[0] += 1
                    continue
                err = "wrong answer %r" % (got,)
            except Exception as e:  # the call failed: count it, go on
                err = "%s: %s" % (type(e).__name__, e)
            with lock:
                failures.append(err)

    per = [calls // threads + (1 if t < calls % threads else 0) for t in range(threads)]
    ts = [threading.Thread(target=worker, args=(t, per[t])) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("calls=%d ok=%d failed=%d" % (calls, ok[0], len(failures)))
    for f in failures[:5]:
        print(" ", f)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        serve()
    elif len(sys.argv) >= 4 and sys.argv[1] == "call":
        call(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    else:
        sys.exit(__doc__)
