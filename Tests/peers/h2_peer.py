#!/usr/bin/env python3
"""A strict HTTP/2 peer for Skiff's end-to-end tests, on PyPI's `h2` (hyper-h2, which validates every frame and
header block it reads) and its `hyperframe` for frames h2 itself would never send.

    h2_peer.py serve [--port N]
        An h2c upstream: answers every request after `x-sleep-ms` (default 0) with `:status 200` and the body
        "<method> <path> bytes=<request body bytes>", then trailers `x-trailer: done` when the request said
        `te: trailers`. It ignores `grpc-timeout` (Skiff must enforce it). `x-reset: 1` resets the stream after the
        response headers and one DATA frame; `x-break: 1` answers with a DATA frame on stream 0 instead (a
        connection error); `x-echo-headers: 1` answers with the request's header block instead, one `name: value`
        line per field in the order received; `x-echo-settings: 1` answers with the client's SETTINGS
        (`initial_window_size: N`, `max_concurrent_streams: N`) and its connection window (`connection_window: N`);
        `x-stall: 1` sends the response headers and one DATA frame, then nothing more on that
        stream. Prints `listening <port>`.

    h2_peer.py client PORT CASE
        Runs one case against an h2c listener and prints one JSON line of what happened:
        get             a GET and a POST with a 100 kB body and trailers on one connection (the strict client
                        checks every frame)
        rapid-reset     opens and resets streams in a burst of 5000 (CVE-2023-44487)
        continuation    one HEADERS without END_HEADERS then 100 CONTINUATION frames
        max-streams     opens 101 streams without ending them (the listener allows 100)
        big-headers     a request with 100 kB of headers (over SETTINGS_MAX_HEADER_LIST_SIZE)
        ping-flood      up to 1,000,000 PINGs without reading a byte (17 MB: past any socket buffer and Skiff's
                        write queue, so the unread ACKs pile up)
        idle            the preface, then silence: how long until the listener sends GOAWAY
        half-close      a request (answered after 300 ms), then FIN at once: the answer must still come, then EOF
        half-open       a request whose body never ends, then FIN: how long until the connection ends
        stall PATH      20 streams for PATH with a receive window of 0 (nothing can be sent to it), held 8 s
        trailers PATH   a POST to PATH with a 5-byte body and trailers `x-client-trailer: 1`, `x-other: two`
        settings        the listener's SETTINGS and connection window, as JSON
        stream-idle PREFIX  stream 1 a POST to PREFIX/open whose body stops after 4 bytes, stream 3 a GET to
                        PREFIX/stall whose response stalls after its headers (`x-stall`): how each ends, and when
"""

import json
import socket
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from hyperframe.frame import ContinuationFrame, HeadersFrame, PingFrame, RstStreamFrame, SettingsFrame


def serve(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    print(f"listening {ls.getsockname()[1]}", flush=True)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=serve_connection, args=(s,), daemon=True).start()


def serve_connection(s):
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    lock = threading.Lock()
    s.sendall(conn.data_to_send())
    streams = {}

    def answer(sid, st):
        time.sleep(st["sleep"] / 1000)
        with lock:
            body = f'{st["method"]} {st["path"]} bytes={st["bytes"]}'.encode()
            if st["echo"] is not None:
                body = "".join(f"{k}: {v}\n" for k, v in st["echo"]).encode()
            if st["settings"]:
                rs = conn.remote_settings
                body = (f"initial_window_size: {rs.initial_window_size}\n"
                        f"max_concurrent_streams: {rs.max_concurrent_streams}\n"
                        f"connection_window: {conn.outbound_flow_control_window}\n").encode()
            if st["break"]:
                s.sendall(b"\x00\x00\x01\x00\x00\x00\x00\x00\x00x")  # DATA on stream 0
                return
            try:
                conn.send_headers(sid, [(":status", "200"), ("content-type", "text/plain")])
                if st["stall"]:
                    conn.send_data(sid, b"stall")
                elif st["reset"]:
                    conn.send_data(sid, body[:5])
                    conn.reset_stream(sid, error_code=2)
                elif st["trailers"]:
                    conn.send_data(sid, body)
                    conn.send_headers(sid, [("x-trailer", "done")], end_stream=True)
                else:
                    conn.send_data(sid, body, end_stream=True)
                s.sendall(conn.data_to_send())
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError, OSError):
                pass

    while True:
        try:
            data = s.recv(65536)
        except OSError:
            return
        if not data:
            return
        with lock:
            try:
                events = conn.receive_data(data)
            except h2.exceptions.ProtocolError:
                s.sendall(conn.data_to_send())
                s.close()
                return
            for e in events:
                if isinstance(e, h2.events.RequestReceived):
                    h = dict((k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v)
                             for k, v in e.headers)
                    streams[e.stream_id] = {
                        "method": h.get(":method"), "path": h.get(":path"), "bytes": 0,
                        "sleep": int(h.get("x-sleep-ms", "0")), "reset": h.get("x-reset") == "1",
                        "trailers": h.get("te") == "trailers", "break": h.get("x-break") == "1",
                        "stall": h.get("x-stall") == "1", "settings": h.get("x-echo-settings") == "1",
                        "echo": [(k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v)
                                 for k, v in e.headers] if h.get("x-echo-headers") == "1" else None,
                    }
                    if e.stream_ended:
                        threading.Thread(target=answer, args=(e.stream_id, streams[e.stream_id]), daemon=True).start()
                elif isinstance(e, h2.events.DataReceived):
                    streams[e.stream_id]["bytes"] += len(e.data)
                    conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
                elif isinstance(e, h2.events.StreamEnded):
                    st = streams.get(e.stream_id)
                    if st is not None:
                        threading.Thread(target=answer, args=(e.stream_id, st), daemon=True).start()
            s.sendall(conn.data_to_send())


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    s.sendall(conn.data_to_send())
    return s, conn


def read_until(s, conn, done, seconds=10):
    """Reads events until done(events so far) is true, the connection ends, or time runs out."""
    seen = []
    end = time.time() + seconds
    s.settimeout(0.5)
    while time.time() < end and not done(seen):
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            seen.append("closed")
            break
        if not data:
            seen.append("closed")
            break
        try:
            seen.extend(conn.receive_data(data))
        except h2.exceptions.ProtocolError as e:
            seen.append(f"protocol-error: {e}")
            break
        out = conn.data_to_send()
        if out:
            try:
                s.sendall(out)
            except OSError:
                pass
    return seen


def goaway(events):
    for e in events:
        if isinstance(e, h2.events.ConnectionTerminated):
            return {"goaway": True, "error_code": int(e.error_code), "last_stream_id": e.last_stream_id}
    return {"goaway": False, "closed": "closed" in events}


def raw_goaway(s, seconds=10):
    """Reads raw frames (no h2 state machine: the case broke it on purpose) until GOAWAY or close."""
    buf = b""
    end = time.time() + seconds
    s.settimeout(0.5)
    while time.time() < end:
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return {"goaway": False, "closed": True}
        if not data:
            return {"goaway": False, "closed": True}
        buf += data
        while len(buf) >= 9:
            length = int.from_bytes(buf[0:3], "big")
            if len(buf) < 9 + length:
                break
            ftype = buf[3]
            payload = buf[9:9 + length]
            buf = buf[9 + length:]
            if ftype == 0x7:
                return {"goaway": True, "error_code": int.from_bytes(payload[4:8], "big"),
                        "last_stream_id": int.from_bytes(payload[0:4], "big") & 0x7fffffff}
    return {"goaway": False, "closed": False}


def headers(path, method="GET", extra=()):
    return [(":method", method), (":path", path), (":scheme", "http"), (":authority", "skiff.test")] + list(extra)


def case_get(port):
    s, conn = connect(port)
    conn.send_headers(1, headers("/plain/get"), end_stream=True)
    conn.send_headers(3, headers("/plain/post", "POST", [("te", "trailers")]))
    body = b"x" * 100_000
    sent = 0
    out = {}
    while sent < len(body):
        window = min(conn.local_flow_control_window(3), conn.max_outbound_frame_size)
        if window <= 0:
            s.sendall(conn.data_to_send())
            for e in read_until(s, conn, lambda ev: any(isinstance(x, h2.events.WindowUpdated) for x in ev), 5):
                record(out, e)
            continue
        n = min(window, len(body) - sent)
        conn.send_data(3, body[sent:sent + n])
        sent += n
    conn.send_headers(3, [("x-client-trailer", "1")], end_stream=True)
    s.sendall(conn.data_to_send())
    for e in read_until(s, conn, lambda ev: sum(isinstance(x, h2.events.StreamEnded) for x in ev) >= 2):
        record(out, e)
    print(json.dumps(out), flush=True)


def record(out, e):
    if isinstance(e, h2.events.ResponseReceived):
        out.setdefault(str(e.stream_id), {})["headers"] = dict(e.headers)
    elif isinstance(e, h2.events.DataReceived):
        st = out.setdefault(str(e.stream_id), {})
        st["body"] = st.get("body", "") + e.data.decode(errors="replace")
    elif isinstance(e, h2.events.TrailersReceived):
        out.setdefault(str(e.stream_id), {})["trailers"] = dict(e.headers)
    elif isinstance(e, h2.events.StreamReset):
        out.setdefault(str(e.stream_id), {})["reset"] = int(e.error_code)


def case_rapid_reset(port):
    s, conn = connect(port)
    sid = 1
    for _ in range(5000):
        conn.send_headers(sid, headers("/plain/rapid"))
        conn.reset_stream(sid, error_code=8)
        sid += 2
    try:
        s.sendall(conn.data_to_send())
    except OSError:
        pass
    print(json.dumps(raw_goaway(s)), flush=True)


def case_continuation(port):
    s, conn = connect(port)
    s.sendall(conn.data_to_send())
    block = conn.encoder.encode(headers("/plain/continuation"))
    frames = HeadersFrame(1, data=block, flags=["END_STREAM"]).serialize()
    for _ in range(100):
        frames += ContinuationFrame(1, data=conn.encoder.encode([("x-pad", "a" * 10)])).serialize()
    try:
        s.sendall(frames)
    except OSError:
        pass
    print(json.dumps(raw_goaway(s)), flush=True)


def case_max_streams(port):
    s, conn = connect(port)
    read_until(s, conn, lambda ev: any(isinstance(x, h2.events.RemoteSettingsChanged) for x in ev), 5)
    # h2 itself refuses to open more than the server allows: frames are written by hand past its count.
    conn.update_settings({})
    block_frames = b""
    for i in range(101):
        block = conn.encoder.encode(headers("/plain/held", "POST"))
        block_frames += HeadersFrame(1 + 2 * i, data=block, flags=["END_HEADERS"]).serialize()
    s.sendall(conn.data_to_send() + block_frames)
    resets = raw_resets(s, 3)
    print(json.dumps(resets), flush=True)


def raw_resets(s, seconds):
    buf = b""
    out = {"resets": {}, "goaway": None}
    end = time.time() + seconds
    s.settimeout(0.3)
    while time.time() < end:
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        if not data:
            break
        buf += data
        while len(buf) >= 9:
            length = int.from_bytes(buf[0:3], "big")
            if len(buf) < 9 + length:
                break
            ftype, sid = buf[3], int.from_bytes(buf[5:9], "big") & 0x7fffffff
            payload = buf[9:9 + length]
            buf = buf[9 + length:]
            if ftype == 0x3:
                out["resets"][str(sid)] = int.from_bytes(payload[0:4], "big")
            elif ftype == 0x7:
                out["goaway"] = int.from_bytes(payload[4:8], "big")
    return out


def case_big_headers(port):
    s, conn = connect(port)
    read_until(s, conn, lambda ev: any(isinstance(x, h2.events.RemoteSettingsChanged) for x in ev), 5)
    big = [(f"x-big-{i}", "v" * 1000) for i in range(100)]
    # h2 checks nothing outbound against the peer's max header list size: the block goes as written.
    conn.send_headers(1, headers("/plain/big", extra=big), end_stream=True)
    s.sendall(conn.data_to_send())
    out = {}
    events = read_until(s, conn, lambda ev: any(isinstance(x, (h2.events.StreamReset, h2.events.StreamEnded,
                                                               h2.events.ConnectionTerminated)) for x in ev) or
                        "closed" in ev, 5)
    for e in events:
        record(out, e)
    out.update(goaway(events))
    print(json.dumps(out), flush=True)


def case_ping_flood(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + SettingsFrame(0).serialize())
    ping = PingFrame(0, opaque_data=b"12345678").serialize()
    chunk = ping * 1000
    sent = 0
    s.settimeout(5)
    try:
        for _ in range(1000):
            s.sendall(chunk)
            sent += 1000
    except OSError:
        pass
    closed = False
    s.settimeout(0.2)
    deadline = time.time() + 10
    while time.time() < deadline and not closed:
        try:
            closed = not s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            closed = True  # reset: Skiff dropped what the client never read
    print(json.dumps({"pings_sent": sent, "closed": closed}), flush=True)


def finish_and_wait(s, conn):
    """Sends FIN, then reads until the listener closes: what arrived, and how long the close took."""
    s.shutdown(socket.SHUT_WR)
    t = time.time()
    out = {}
    events = read_until(s, conn, lambda ev: "closed" in ev, 10)
    for e in events:
        record(out, e)
    out["eof"] = "closed" in events
    out["seconds"] = round(time.time() - t, 2)
    print(json.dumps(out), flush=True)


def case_half_close(port):
    s, conn = connect(port)
    conn.send_headers(1, headers("/plain/half", extra=[("x-sleep-ms", "300")]), end_stream=True)
    s.sendall(conn.data_to_send())
    finish_and_wait(s, conn)


def case_half_open(port):
    s, conn = connect(port)
    conn.send_headers(1, headers("/plain/open", "POST"))
    conn.send_data(1, b"part")
    s.sendall(conn.data_to_send())
    time.sleep(0.2)
    finish_and_wait(s, conn)


def case_stall(port, path):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.local_settings = h2.settings.Settings(client=True, initial_values={
        h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0, h2.settings.SettingCodes.ENABLE_PUSH: 0})
    conn.initiate_connection()
    for i in range(20):
        conn.send_headers(1 + 2 * i, headers(path), end_stream=True)
    s.sendall(conn.data_to_send())
    end = time.time() + 8
    s.settimeout(0.5)
    while time.time() < end:
        try:
            data = s.recv(65536)
            if not data:
                break
            conn.receive_data(data)  # never acknowledged: the windows stay shut
            out = conn.data_to_send()
            if out:
                s.sendall(out)
        except socket.timeout:
            continue
        except (OSError, h2.exceptions.ProtocolError):
            break
    print(json.dumps({"held": True}), flush=True)


def case_trailers(port, path):
    s, conn = connect(port)
    conn.send_headers(1, headers(path, "POST"))
    conn.send_data(1, b"hello")
    conn.send_headers(1, [("x-client-trailer", "1"), ("x-other", "two")], end_stream=True)
    s.sendall(conn.data_to_send())
    out = {}
    for e in read_until(s, conn, lambda ev: any(isinstance(x, h2.events.StreamEnded) for x in ev)):
        record(out, e)
    print(json.dumps(out.get("1", {})), flush=True)


def case_settings(port):
    s, conn = connect(port)
    read_until(s, conn, lambda ev: any(isinstance(x, h2.events.RemoteSettingsChanged) for x in ev)
               and any(isinstance(x, h2.events.WindowUpdated) and x.stream_id == 0 for x in ev), 5)
    rs = conn.remote_settings
    print(json.dumps({"max_concurrent_streams": rs.max_concurrent_streams,
                      "initial_window_size": rs.initial_window_size,
                      "connection_window": conn.outbound_flow_control_window}), flush=True)


def case_stream_idle(port, prefix):
    s, conn = connect(port)
    conn.send_headers(1, headers(prefix + "/open", "POST"))
    conn.send_data(1, b"part")
    conn.send_headers(3, headers(prefix + "/stall", extra=[("x-stall", "1")]), end_stream=True)
    s.sendall(conn.data_to_send())
    t = time.time()
    out = {}

    def done(events):
        return (any(isinstance(x, h2.events.StreamEnded) and x.stream_id == 1 for x in events)
                and any(isinstance(x, h2.events.StreamReset) and x.stream_id == 3 for x in events))

    for e in read_until(s, conn, done, 15):
        record(out, e)
        if isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)):
            out.setdefault(str(e.stream_id), {})["seconds"] = round(time.time() - t, 2)
    print(json.dumps(out), flush=True)


def case_idle(port):
    s, conn = connect(port)
    t = time.time()
    events = read_until(s, conn, lambda ev: any(isinstance(x, h2.events.ConnectionTerminated) for x in ev), 15)
    out = goaway(events)
    out["seconds"] = round(time.time() - t, 2)
    print(json.dumps(out), flush=True)


def main():
    if sys.argv[1] == "serve":
        port = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--port" else 0
        serve(port)
        return
    port, case = int(sys.argv[2]), sys.argv[3]
    {
        "get": case_get, "rapid-reset": case_rapid_reset, "continuation": case_continuation,
        "max-streams": case_max_streams, "big-headers": case_big_headers, "ping-flood": case_ping_flood,
        "idle": case_idle, "half-close": case_half_close, "half-open": case_half_open,
        "stall": lambda p: case_stall(p, sys.argv[4]),
        "stream-idle": lambda p: case_stream_idle(p, sys.argv[4]),
        "trailers": lambda p: case_trailers(p, sys.argv[4]),
        "settings": case_settings,
    }[case](port)


if __name__ == "__main__":
    main()
