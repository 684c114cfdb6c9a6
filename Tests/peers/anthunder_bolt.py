#!/usr/bin/env python3
"""A real SOFA Bolt peer for Skiff's end-to-end tests, from anthunder (Ant's Python Bolt library, on PyPI).

  anthunder_bolt.py serve
      Runs anthunder's SockListener (socketserver, a thread per connection) on a free loopback port and prints
      "listening PORT". It answers ONE request per connection and then closes it (shutdown, close), as anthunder's
      handler returns after one request. Serves until killed.
  anthunder_bolt.py serve-traced EGRESS_PORT
      The same server with two more methods that show the SOFA trace context anthunder's tracer extracted from a
      request's header map: `trace` answers "trace <sofaTraceId> <sofaRpcId>", and `relay` calls `trace` through
      127.0.0.1:EGRESS_PORT passing its own context on unextended (as an application that does not trace itself
      would) and answers what that call answered.
  anthunder_bolt.py trace PORT TRACEID RPCID [METHOD]
      One call of METHOD (default `trace`) to 127.0.0.1:PORT with that context; prints the answer.
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
from mytracer.span_context import SpanContext  # noqa: E402

INTERFACE = "com.skiff.test.Echo:1.0"


class EchoService(BaseService):
    def echo(self, body):
        return b"anthunder:" + body

    def trace(self, body):
        baggage = self.ctx.baggage
        return ("trace %s %s" % (baggage.get("sofaTraceId"), baggage.get("sofaRpcId"))).encode()

    def relay(self, body):
        return Client("skiff-test-relay").invoke_sync(INTERFACE, "trace", body, spanctx=self.ctx, timeout_ms=5000)


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


def serve(egress_port=None):
    SockBoltHandler._readexactly = _readexactly_or_eof
    # socketserver's listen backlog is 5: a burst of new connections (one per request here) overflows it and the
    # kernel drops SYNs, which costs a second each. A real deployment sets it higher; so does this.
    socketserver.ThreadingTCPServer.request_queue_size = 256
    if egress_port is not None:
        SERVICE_MAP[INTERFACE] = ("127.0.0.1", egress_port)
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
    elif len(sys.argv) >= 3 and sys.argv[1] == "serve-traced":
        serve(int(sys.argv[2]))
    elif len(sys.argv) >= 5 and sys.argv[1] == "trace":
        SERVICE_MAP[INTERFACE] = ("127.0.0.1", int(sys.argv[2]))
        ctx = SpanContext(sofaTraceId=sys.argv[3], sofaRpcId=sys.argv[4])
        method = sys.argv[5] if len(sys.argv) > 5 else "trace"
        print(Client("skiff-test-client").invoke_sync(INTERFACE, method, b"", spanctx=ctx, timeout_ms=5000).decode())
    elif len(sys.argv) >= 4 and sys.argv[1] == "call":
        call(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    else:
        sys.exit(__doc__)
