#!/usr/bin/env python3
"""Benchmark backend on 127.0.0.1:PORT. First byte picks the mode:
B + 8-byte big-endian length: sink that many bytes, then answer b"k".
E: echo everything until EOF.
Thread per connection; recv_into a reusable 1 MiB buffer so Python is not the bottleneck."""
import socket, sys, threading


def serve(c):
    try:
        mode = c.recv(1)
        if mode == b"B":
            hdr = b""
            while len(hdr) < 8:
                hdr += c.recv(8 - len(hdr))
            left = int.from_bytes(hdr, "big")
            buf = bytearray(1 << 20)
            mv = memoryview(buf)
            while left > 0:
                n = c.recv_into(mv, min(left, len(buf)))
                if n == 0:
                    return
                left -= n
            c.sendall(b"k")
        elif mode == b"E":
            c.sendall(b"E")
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)
    except OSError:
        pass
    finally:
        c.close()


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(4096)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
