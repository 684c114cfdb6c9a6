#!/usr/bin/env python3
"""A real gRPC peer for Skiff's HTTP/2 end-to-end tests: grpcio's own server and client (h2c, no TLS), with raw-bytes
methods so no generated stubs are needed.

Service skiff.test.Echo:
    Unary        echoes the request bytes; metadata `x-fail: CODE` answers with that gRPC status instead
    Slow         sleeps `x-sleep-ms` (default 2000) before echoing, noticing cancellation (for deadlines)
    Stream       server streaming: the request is a decimal count N; answers N messages "i:<payload>"
    Collect      client streaming: answers the number of messages and bytes it got, "n=<count> bytes=<total>"
    Chat         bidirectional: echoes each message as it comes

Service grpc.health.v1.Health (gRPC's health-checking protocol, hand-encoded: field 1 of each message):
    Check        service "" or "echo": SERVING; "broken": NOT_SERVING; anything else: NOT_FOUND

Usage:
    grpc_peer.py serve [--port N] [--tls CERT KEY]
                                              prints `listening <port>` when ready; SIGTERM ends it. With --tls it
                                              serves h2 over TLS (gRPC requires ALPN h2 from its clients)
    grpc_peer.py call PORT METHOD [options]   prints one JSON line: {"code": NAME, "details": ..., "replies": [...]}
        --payload TEXT   --count N (Stream, Collect, Chat)   --timeout S   --meta K=V (repeatable)
        --cancel-after-ms MS (Slow: cancel the call from the client)
    grpc_peer.py bench PORT N                 N unary calls on one channel; prints calls per second
"""

import argparse
import json
import signal
import sys
import threading
import time
from concurrent import futures

import grpc

SERVICE = "skiff.test.Echo"


def _meta(context, key):
    for k, v in context.invocation_metadata():
        if k == key:
            return v
    return None


def unary(request, context):
    fail = _meta(context, "x-fail")
    if fail:
        context.abort(grpc.StatusCode(_code_by_value(int(fail))), "failed on request")
    context.set_trailing_metadata((("x-peer-trailer", "unary"),))
    return request


def slow(request, context):
    ms = int(_meta(context, "x-sleep-ms") or "2000")
    deadline = time.time() + ms / 1000
    while time.time() < deadline:
        if not context.is_active():
            return b""
        time.sleep(0.01)
    return request


def stream(request, context):
    n = int(request.decode() or "0")
    for i in range(n):
        yield f"{i}:".encode() + b"x" * 100


def collect(request_iterator, context):
    n = 0
    total = 0
    for m in request_iterator:
        n += 1
        total += len(m)
    return f"n={n} bytes={total}".encode()


def chat(request_iterator, context):
    for m in request_iterator:
        yield m


def health_check(request, context):
    service = ""
    if len(request) >= 2 and request[0] == 0x0A:
        service = request[2:2 + request[1]].decode()
    if service in ("", "echo"):
        return b"\x08\x01"
    if service == "broken":
        return b"\x08\x02"
    context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {service}")


def _code_by_value(v):
    for c in grpc.StatusCode:
        if c.value[0] == v:
            return c.value
    return grpc.StatusCode.UNKNOWN.value


def serve(port, tls=None):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
        "Collect": grpc.stream_unary_rpc_method_handler(collect),
        "Chat": grpc.stream_stream_rpc_method_handler(chat),
    }
    health = {"Check": grpc.unary_unary_rpc_method_handler(health_check)}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),
                                     grpc.method_handlers_generic_handler("grpc.health.v1.Health", health)))
    if tls:
        creds = grpc.ssl_server_credentials([(open(tls[1], "rb").read(), open(tls[0], "rb").read())])
        bound = server.add_secure_port(f"127.0.0.1:{port}", creds)
    else:
        bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"listening {bound}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    server.stop(0.5).wait()


def call(args):
    channel = grpc.insecure_channel(f"127.0.0.1:{args.port}")
    path = f"/{SERVICE}/{args.method}"
    meta = tuple(tuple(m.split("=", 1)) for m in args.meta)
    payload = args.payload.encode()
    replies = []
    out = {"code": "OK", "details": "", "replies": replies}
    try:
        if args.method in ("Unary", "Slow"):
            fn = channel.unary_unary(path)
            if args.cancel_after_ms:
                fut = fn.future(payload, timeout=args.timeout, metadata=meta)
                time.sleep(args.cancel_after_ms / 1000)
                fut.cancel()
                out["code"] = "CANCELLED"
            else:
                reply, c = fn.with_call(payload, timeout=args.timeout, metadata=meta)
                replies.append(reply.decode(errors="replace"))
                out["trailers"] = {k: v for k, v in c.trailing_metadata() or ()}
        elif args.method == "Stream":
            for r in channel.unary_stream(path)(str(args.count).encode(), timeout=args.timeout, metadata=meta):
                replies.append(r.decode(errors="replace"))
        elif args.method == "Collect":
            msgs = (payload for _ in range(args.count))
            replies.append(channel.stream_unary(path)(msgs, timeout=args.timeout, metadata=meta).decode())
        elif args.method == "Chat":
            msgs = (payload + str(i).encode() for i in range(args.count))
            for r in channel.stream_stream(path)(msgs, timeout=args.timeout, metadata=meta):
                replies.append(r.decode(errors="replace"))
        else:
            fn = channel.unary_unary(path)
            replies.append(fn(payload, timeout=args.timeout, metadata=meta).decode(errors="replace"))
    except grpc.RpcError as e:
        out["code"] = e.code().name
        out["details"] = e.details() or ""
        out["trailers"] = {k: v for k, v in (e.trailing_metadata() or ())}
    print(json.dumps(out), flush=True)
    channel.close()


def bench(port, n):
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    fn = channel.unary_unary(f"/{SERVICE}/Unary")
    fn(b"warm", timeout=10)
    t = time.time()
    for _ in range(n):
        fn(b"hello", timeout=10)
    took = time.time() - t
    print(json.dumps({"calls": n, "seconds": took, "per_second": n / took}), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    c = sub.add_parser("call")
    c.add_argument("port", type=int)
    c.add_argument("method")
    c.add_argument("--payload", default="hello")
    c.add_argument("--count", type=int, default=3)
    c.add_argument("--timeout", type=float, default=10)
    c.add_argument("--meta", action="append", default=[])
    c.add_argument("--cancel-after-ms", type=int, default=0)
    b = sub.add_parser("bench")
    b.add_argument("port", type=int)
    b.add_argument("n", type=int)
    a = p.parse_args()
    if a.cmd == "serve":
        serve(a.port, a.tls)
    elif a.cmd == "call":
        call(a)
    else:
        bench(a.port, a.n)


if __name__ == "__main__":
    sys.exit(main())
