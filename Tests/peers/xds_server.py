#!/usr/bin/env python3
"""A state-of-the-world ADS server (xDS v3) for Skiff's end-to-end tests, and for proving them against real Envoy.

Serves envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources with grpcio and the Envoy
protos PyPI's `xds-protos` ships. Resources come from Envoy v3 JSON (proto3 JSON, `@type` for Any), grouped by type:

    {"version": "1", "listeners": [...], "routes": [...], "clusters": [...], "endpoints": [...], "secrets": [...]}

either one file or a directory of such files (merged in name order). `${NAME}` in the text is replaced by
`--var NAME=VALUE` before parsing (the fixtures use it for ports: "port_value": "${LISTENER_PORT}", a string being
valid proto3 JSON for an integer). The file is re-read when it changes (polled) or on `POST /push`; a type whose
resources changed goes to every stream subscribed to it as a new version. A file that does not parse leaves the
last good snapshot in place (`load_error` in /state says why).

Per stream and type it tracks the subscribed names (LDS/CDS: empty means wildcard; RDS/EDS: only the names asked
for are sent), the version and nonce last sent, the last ACKed version and the last NACK (error_detail).

Control interface (plain HTTP on 127.0.0.1):
    GET  /state         streams (node, peer, per type: subscribed, version sent, version ACKed, NACKs), snapshot
    POST /push          reload the resources now; 200 with the snapshot version, 400 with the load error
    POST /resources     body = grouped JSON as above (after --var substitution): replace the snapshot, push
    POST /stop-streams  end every stream with UNAVAILABLE (a control plane restart without restarting the process)

Usage: xds_server.py --resources PATH [--grpc-port N] [--control-port N] [--var NAME=VALUE ...]
Prints `listening <grpc-port> <control-port>` on stdout when ready. SIGTERM or SIGINT: ends streams, exits 0.
"""

import argparse
import hashlib
import http.server
import importlib
import itertools
import json
import os
import pkgutil
import queue
import re
import signal
import sys
import threading
import time
from concurrent import futures

import grpc
from google.protobuf import any_pb2, json_format, symbol_database
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.extensions.transport_sockets.tls.v3 import secret_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

# Filters and extensions resources commonly carry in Any; anything else named by an `@type` is imported on demand.
for _module in (
    "envoy.extensions.filters.network.http_connection_manager.v3.http_connection_manager_pb2",
    "envoy.extensions.filters.network.tcp_proxy.v3.tcp_proxy_pb2",
    "envoy.extensions.filters.http.router.v3.router_pb2",
    "envoy.extensions.upstreams.http.v3.http_protocol_options_pb2",
    "envoy.extensions.transport_sockets.tls.v3.tls_pb2",
):
    importlib.import_module(_module)

PREFIX = "type.googleapis.com/"
# Group name in the resource file -> (type URL, message class, field naming the resource).
GROUPS = {
    "listeners": (PREFIX + "envoy.config.listener.v3.Listener", listener_pb2.Listener, "name"),
    "routes": (PREFIX + "envoy.config.route.v3.RouteConfiguration", route_pb2.RouteConfiguration, "name"),
    "clusters": (PREFIX + "envoy.config.cluster.v3.Cluster", cluster_pb2.Cluster, "name"),
    "endpoints": (
        PREFIX + "envoy.config.endpoint.v3.ClusterLoadAssignment",
        endpoint_pb2.ClusterLoadAssignment,
        "cluster_name",
    ),
    "secrets": (PREFIX + "envoy.extensions.transport_sockets.tls.v3.Secret", secret_pb2.Secret, "name"),
}
GROUP_OF_TYPE = {url: group for group, (url, _, _) in GROUPS.items()}
# Types where an empty subscription means "everything" (legacy wildcard); for the others it means nothing.
WILDCARD_TYPES = {GROUPS["listeners"][0], GROUPS["clusters"][0]}
# The order a new snapshot goes out in: clusters before their endpoints, listeners before their routes.
PUSH_ORDER = ["clusters", "endpoints", "listeners", "routes", "secrets"]


def log(message):
    print(time.strftime("%H:%M:%S"), message, file=sys.stderr, flush=True)


def import_types_named(value, seen):
    """Imports every module of the proto package of each `@type` in a JSON value, so Any resolves from JSON."""
    if isinstance(value, dict):
        name = value.get("@type")
        if isinstance(name, str) and name not in seen:
            seen.add(name)
            full = name.rsplit("/", 1)[-1]
            if not in_pool(full):
                package = full.rsplit(".", 1)[0]
                try:
                    pkg = importlib.import_module(package)
                    for info in pkgutil.iter_modules(pkg.__path__):
                        if info.name.endswith("_pb2"):
                            importlib.import_module(package + "." + info.name)
                except ImportError:
                    pass  # json_format names the type it cannot resolve
        for v in value.values():
            import_types_named(v, seen)
    elif isinstance(value, list):
        for v in value:
            import_types_named(v, seen)


def in_pool(full_name):
    try:
        symbol_database.Default().pool.FindMessageTypeByName(full_name)
        return True
    except KeyError:
        return False


class Snapshot:
    """One parsed resource set: per type URL, the version and the resources (name -> Any). Immutable once built."""

    def __init__(self, version, by_type, digest):
        self.version = version
        self.by_type = by_type  # type_url -> (version, {name: Any})
        self.digest = digest  # type_url -> content hash

    @staticmethod
    def parse(text, variables, previous, counter):
        for name, value in variables.items():
            text = text.replace("${" + name + "}", value)
        left = re.search(r"\$\{([A-Za-z0-9_]+)\}", text)
        if left:
            raise ValueError("no --var for ${%s}" % left.group(1))
        documents = json.loads(text)
        if isinstance(documents, dict):
            documents = [documents]
        version = None
        grouped = {group: [] for group in GROUPS}
        for doc in documents:
            unknown = set(doc) - set(GROUPS) - {"version"}
            if unknown:
                raise ValueError("unknown keys %s (expected version, %s)" % (sorted(unknown), ", ".join(GROUPS)))
            if "version" in doc:
                version = str(doc["version"])
            for group in GROUPS:
                grouped[group].extend(doc.get(group, []))
        import_types_named(grouped, set())
        serial = next(counter)
        if version is None:
            version = str(serial)
        by_type, digest = {}, {}
        for group, items in grouped.items():
            type_url, cls, name_field = GROUPS[group]
            resources = {}
            for index, item in enumerate(items):
                message = cls()
                body = dict(item)
                at_type = body.pop("@type", None)
                if at_type is not None and at_type != type_url:
                    raise ValueError("%s[%d]: @type %s, expected %s" % (group, index, at_type, type_url))
                try:
                    json_format.ParseDict(body, message)
                except json_format.ParseError as e:
                    raise ValueError("%s[%d]: %s" % (group, index, e)) from None
                name = getattr(message, name_field)
                if not name:
                    raise ValueError("%s[%d]: no %s" % (group, index, name_field))
                if name in resources:
                    raise ValueError("%s[%d]: %s %r twice" % (group, index, name_field, name))
                packed = any_pb2.Any()
                packed.Pack(message)
                resources[name] = packed
            h = hashlib.sha256()
            for name in sorted(resources):
                h.update(name.encode() + b"\0" + resources[name].value + b"\0")
            digest[type_url] = h.hexdigest()
            # A type keeps its version when its resources did not change: streams get nothing new for it.
            if previous is not None and previous.digest.get(type_url) == digest[type_url]:
                by_type[type_url] = (previous.by_type[type_url][0], resources)
            elif previous is not None and previous.by_type[type_url][0] == version:
                by_type[type_url] = ("%s.%d" % (version, serial), resources)  # changed but version not bumped
            else:
                by_type[type_url] = (version, resources)
        return Snapshot(version, by_type, digest)


class TypeState:
    """What one stream has for one type URL. Touched only under the stream's lock."""

    def __init__(self, type_url):
        self.type_url = type_url
        self.names = set()
        self.wildcard = False
        self.subscribed = False
        self.version_sent = None
        self.nonce_sent = None
        self.nonce_answered = False
        self.names_sent = []
        self.version_acked = None
        self.acks = 0
        self.nacks = 0
        self.last_nack = None
        self.stale_requests = 0
        self.version_on_connect = None

    def to_json(self):
        return {
            "type_url": self.type_url,
            "subscribed": ["*"] if self.wildcard else sorted(self.names),
            "version_sent": self.version_sent,
            "nonce_sent": self.nonce_sent,
            "resources_sent": self.names_sent,
            "version_acked": self.version_acked,
            "acked": self.version_sent is not None and self.version_acked == self.version_sent,
            "acks": self.acks,
            "nacks": self.nacks,
            "last_nack": self.last_nack,
            "nack_error": self.last_nack["message"] if self.last_nack else None,
            "stale_requests": self.stale_requests,
            "version_on_connect": self.version_on_connect,
        }


class Stream:
    """One ADS stream: its node, its per-type state and an event queue. Requests are read on a thread of their own;
    the gRPC handler thread takes events (a request, a new snapshot, stop) from the queue and sends responses."""

    ids = itertools.count(1)

    def __init__(self, peer):
        self.id = next(Stream.ids)
        self.peer = peer
        self.connected_at = time.time()
        self.closed_at = None
        self.close_reason = None
        self.node = None
        self.types = {}
        self.events = queue.Queue()
        self.lock = threading.Lock()

    def to_json(self):
        with self.lock:
            return {
                "id": self.id,
                "peer": self.peer,
                "node": self.node,
                "connected_at": self.connected_at,
                "closed_at": self.closed_at,
                "close_reason": self.close_reason,
                "types": {GROUP_OF_TYPE.get(url, url): t.to_json() for url, t in self.types.items()},
            }


class ControlPlane(ads_pb2_grpc.AggregatedDiscoveryServiceServicer):
    """The snapshot, the streams and the ADS protocol. The snapshot and stream list are guarded by `lock`."""

    def __init__(self, resources_path, variables):
        self.resources_path = resources_path
        self.variables = variables
        self.lock = threading.Lock()
        self.snapshot = None
        self.load_error = None
        self.loads = 0
        self.streams = {}
        self.closed = []
        self.nonces = itertools.count(1)
        self.serials = itertools.count(1)
        self.stopping = threading.Event()
        self.file_stamp = None

    # Resources.

    def stamp(self):
        path = self.resources_path
        if path is None:
            return None
        try:
            if os.path.isdir(path):
                return tuple(
                    (n, os.stat(os.path.join(path, n)).st_mtime_ns, os.stat(os.path.join(path, n)).st_size)
                    for n in sorted(os.listdir(path))
                    if n.endswith(".json")
                )
            st = os.stat(path)
            return (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError as e:
            return ("error", str(e))

    def read_text(self):
        path = self.resources_path
        if os.path.isdir(path):
            parts = []
            for n in sorted(os.listdir(path)):
                if n.endswith(".json"):
                    with open(os.path.join(path, n)) as f:
                        parts.append(f.read())
            return "[" + ",".join(parts) + "]"
        with open(path) as f:
            return f.read()

    def reload(self, text=None):
        """Parses the resources (the file, or `text`) and pushes what changed. Returns (ok, message)."""
        try:
            if text is None:
                self.file_stamp = self.stamp()
                text = self.read_text()
            with self.lock:
                previous = self.snapshot
            snapshot = Snapshot.parse(text, self.variables, previous, self.serials)
        except (OSError, ValueError) as e:
            with self.lock:
                self.load_error = str(e)
            log("resources not loaded: %s" % e)
            return False, str(e)
        with self.lock:
            self.snapshot = snapshot
            self.load_error = None
            self.loads += 1
            streams = list(self.streams.values())
        log("resources version %s: %s" % (snapshot.version, ", ".join(
            "%s %s (%d)" % (GROUP_OF_TYPE[u], v, len(r)) for u, (v, r) in snapshot.by_type.items())))
        for stream in streams:
            stream.events.put(("push", None))
        return True, snapshot.version

    def watch(self, interval):
        while not self.stopping.wait(interval):
            if self.stamp() != self.file_stamp:
                self.reload()

    # The ADS protocol.

    def StreamAggregatedResources(self, request_iterator, context):
        stream = Stream(context.peer())
        with self.lock:
            self.streams[stream.id] = stream
        log("stream %d: connected from %s" % (stream.id, stream.peer))

        def read():
            try:
                for request in request_iterator:
                    stream.events.put(("request", request))
                stream.events.put(("closed", "client closed the stream"))
            except Exception as e:  # cancelled, reset
                detail = getattr(e, "details", lambda: None)() or str(e) or type(e).__name__
                stream.events.put(("closed", "read failed: %s" % detail))

        threading.Thread(target=read, daemon=True, name="ads-read-%d" % stream.id).start()
        reason = "server stopped"
        try:
            while not self.stopping.is_set():
                try:
                    kind, payload = stream.events.get(timeout=0.5)
                except queue.Empty:
                    if not context.is_active():
                        reason = "cancelled"
                        break
                    continue
                if kind == "request":
                    for response in self.on_request(stream, payload):
                        yield response
                elif kind == "push":
                    for response in self.on_push(stream):
                        yield response
                elif kind == "closed":
                    reason = payload
                    break
                elif kind == "stop":
                    reason = "stopped by /stop-streams"
                    self.retire(stream, reason)
                    context.abort(grpc.StatusCode.UNAVAILABLE, "control plane restarting")
        finally:
            self.retire(stream, reason)

    def retire(self, stream, reason):
        with self.lock:
            if self.streams.pop(stream.id, None) is None:
                return
            with stream.lock:
                stream.closed_at = time.time()
                stream.close_reason = reason
            self.closed.append(stream)
            del self.closed[:-20]
        log("stream %d: closed (%s)" % (stream.id, reason))

    def on_request(self, stream, request):
        type_url = request.type_url
        with stream.lock:
            if request.HasField("node"):
                stream.node = json_format.MessageToDict(request.node, preserving_proto_field_name=True)
            if type_url not in GROUP_OF_TYPE:
                log("stream %d: request for unknown type %s ignored" % (stream.id, type_url))
                return []
            state = stream.types.setdefault(type_url, TypeState(type_url))
            name = GROUP_OF_TYPE[type_url]
            if request.response_nonce and request.response_nonce != state.nonce_sent:
                state.stale_requests += 1  # answers a response superseded since: the xDS protocol says ignore it
                return []
            # Only the first request answering a response is its ACK or NACK; later ones with the same nonce
            # change the subscription (new RDS/EDS names) and say nothing new about that response.
            answering = request.response_nonce and not state.nonce_answered
            if answering:
                state.nonce_answered = True
            if answering and request.HasField("error_detail"):
                state.nacks += 1
                state.last_nack = {
                    "version": request.version_info,
                    "nonce": request.response_nonce,
                    "rejected_version": state.version_sent,
                    "code": request.error_detail.code,
                    "message": request.error_detail.message,
                }
                log("stream %d: %s NACK of %s: %s" % (stream.id, name, state.version_sent, request.error_detail.message))
            elif answering:
                state.acks += 1
                state.version_acked = request.version_info
                log("stream %d: %s ACK %s" % (stream.id, name, request.version_info))
            if not state.subscribed and not request.response_nonce:
                state.version_on_connect = request.version_info or None  # what a reconnecting client still has
            names = set(request.resource_names)
            wildcard = "*" in names or (not names and type_url in WILDCARD_TYPES)
            names.discard("*")
            changed = not state.subscribed or names != state.names or wildcard != state.wildcard
            state.subscribed, state.names, state.wildcard = True, names, wildcard
        with self.lock:
            snapshot = self.snapshot
        if snapshot is None:
            return []
        version = snapshot.by_type[type_url][0]
        if changed or (answering and version != state.version_sent and not request.HasField("error_detail")):
            return [self.response(stream, state, snapshot)]
        return []

    def on_push(self, stream):
        with self.lock:
            snapshot = self.snapshot
        out = []
        for group in PUSH_ORDER:
            type_url = GROUPS[group][0]
            with stream.lock:
                state = stream.types.get(type_url)
            if state is None or not state.subscribed or snapshot.by_type[type_url][0] == state.version_sent:
                continue
            out.append(self.response(stream, state, snapshot))
        return out

    def response(self, stream, state, snapshot):
        version, resources = snapshot.by_type[state.type_url]
        with stream.lock:
            chosen = sorted(resources) if state.wildcard else sorted(n for n in state.names if n in resources)
            nonce = str(next(self.nonces))
            state.version_sent, state.nonce_sent, state.names_sent = version, nonce, chosen
            state.nonce_answered = False
        log("stream %d: send %s version %s nonce %s %s" % (
            stream.id, GROUP_OF_TYPE[state.type_url], version, nonce, chosen))
        return discovery_pb2.DiscoveryResponse(
            version_info=version,
            type_url=state.type_url,
            nonce=nonce,
            resources=[resources[n] for n in chosen],
        )

    # Control.

    def stop_streams(self):
        with self.lock:
            streams = list(self.streams.values())
        for stream in streams:
            stream.events.put(("stop", None))
        return len(streams)

    def state(self):
        with self.lock:
            snapshot = self.snapshot
            open_streams = list(self.streams.values())
            closed = list(self.closed)
            load_error, loads = self.load_error, self.loads
        return {
            "version": snapshot.version if snapshot else None,
            "types": {
                GROUP_OF_TYPE[u]: {"version": v, "resources": sorted(r)} for u, (v, r) in snapshot.by_type.items()
            }
            if snapshot
            else {},
            "load_error": load_error,
            "loads": loads,
            "streams": [s.to_json() for s in open_streams],
            "closed_streams": [s.to_json() for s in closed],
        }


def control_handler(plane):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def reply(self, status, body):
            data = (json.dumps(body, indent=1, sort_keys=True) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/state":
                self.reply(200, plane.state())
            else:
                self.reply(404, {"error": "GET /state; POST /push, /resources, /stop-streams"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            if self.path == "/push":
                if plane.resources_path is None:
                    return self.reply(400, {"error": "no --resources file to reload"})
                ok, message = plane.reload()
                self.reply(200 if ok else 400, {"version": message} if ok else {"error": message})
            elif self.path == "/resources":
                ok, message = plane.reload(text=body)
                self.reply(200 if ok else 400, {"version": message} if ok else {"error": message})
            elif self.path == "/stop-streams":
                self.reply(200, {"stopped": plane.stop_streams()})
            else:
                self.reply(404, {"error": "POST /push, /resources, /stop-streams"})

        def log_message(self, fmt, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resources", help="JSON file or directory of JSON files (grouped Envoy v3 resources)")
    parser.add_argument("--grpc-port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--watch-interval", type=float, default=0.2, help="seconds; 0 = reload only on POST /push")
    args = parser.parse_args()
    variables = dict(v.split("=", 1) for v in args.var)

    plane = ControlPlane(args.resources, variables)
    if args.resources is not None:
        ok, message = plane.reload()
        if not ok:
            print("resources: %s" % message, file=sys.stderr)
            return 2

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="ads"))
    ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(plane, server)
    grpc_port = server.add_insecure_port("%s:%d" % (args.host, args.grpc_port))
    if grpc_port == 0:
        print("cannot bind the gRPC port %d" % args.grpc_port, file=sys.stderr)
        return 1
    control = http.server.ThreadingHTTPServer(("127.0.0.1", args.control_port), control_handler(plane))
    control.daemon_threads = True
    server.start()
    threading.Thread(target=control.serve_forever, daemon=True, name="control").start()
    if args.resources is not None and args.watch_interval > 0:
        threading.Thread(target=plane.watch, args=(args.watch_interval,), daemon=True, name="watch").start()

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print("listening %d %d" % (grpc_port, control.server_address[1]), flush=True)
    while not done.wait(1):
        pass
    log("stopping")
    plane.stopping.set()
    server.stop(grace=1).wait(3)
    control.shutdown()
    control.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
