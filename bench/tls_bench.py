#!/usr/bin/env python3
"""TLS termination: Skiff (netpoll and rwloop) against nginx, HAProxy and Envoy, side by side in one run, each
terminating TLS in front of the same plain-HTTP nginx backend with the same certificate and key.

Usage: bench/tls_bench.py [--skiff .build/release/skiff] [--envoy PATH | --no-envoy] [--rounds 5] [--duration 3]
                          [--keys rsa,ecdsa] [--skip-callgrind] [--keep-callgrind DIR] [--out FILE]
(bench/suite.py runs this as its TLS section, so bench/run.sh regenerates it with the rest.)

Method, the suite's: one nginx backend (1 worker, plain HTTP) serves /small (64 B) and /big (1 MiB). Certificates are
made at bench time with the openssl CLI into the temp dir, one self-signed pair per key type (RSA-2048, ECDSA P-256);
every proxy gets the same files (nginx ssl_certificate/ssl_certificate_key, HAProxy `bind ... ssl crt` with cert and
key in one PEM, Envoy's DownstreamTlsContext, Skiff's MOSN `tls_context` with cert_chain/private_key paths). Protocol
versions, cipher suites, groups and session tickets are each proxy's defaults; every pair negotiates TLS 1.3 (checked,
and printed, before measuring). Every proxy single-threaded (HAProxy nbthread 1, nginx 1 worker without a master,
Envoy --concurrency 1, Skiff 1 poller; rwloop is thread-per-connection), keep-alive to the backend, no logging.
Per key type, wrk -t1 over https, every candidate in turn, round after round (interleaved), medians of --rounds:
  1. keep-alive /small at c64: req/s, p50, p99, proxy CPU us/request (utime+stime over the run / requests);
  2. /big at c8: MB/s, proxy CPU us/MiB;
  3. a new connection per request (`Connection: close`) at c16: handshakes/s (= requests/s), p99, proxy CPU
     us/handshake, twice: full handshakes (wrk under an LD_PRELOAD that drops the session it would resume, so every
     connection is a full TLS 1.3 handshake with the certificate's signature), and, first key type only, wrk as it
     is, which resumes each connection with the ticket the previous one got (SSL_clear keeps the session; it uses
     each ticket once, so a server must send a new ticket on a resumed connection for the next one to resume too:
     the negotiation table says which do). These run last because they leave sockets in TIME_WAIT.
Then instructions per request under callgrind, with a Python `ssl` client (TLS 1.3), after 200 warm-up keep-alive
requests, each window between a zeroing and a dump of the counters (common.callgrind_windows): 10,000 keep-alive
requests over 4 connections opened and used once before the zeroing (so no handshake is counted; first key type
only: the key does not touch the record layer); 200 requests each on a new connection with a full handshake (+
request + close), per key type; 200 each on a new connection resuming the session of the one before (first key type
only). Two valgrind runs at a time (counts are exact).
kTLS: nginx gets an extra `ssl_conf_command Options KTLS` candidate when the kernel offers the "tls" upper-layer
protocol; otherwise the section says why not. Skiff does not use kTLS.
Only 127.0.0.1 is used; every process started here is stopped by its pid.
"""
import argparse, json, os, re, shutil, socket, ssl, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import Procs, callgrind_windows, free_port, machine_line, wait_port, wrk  # noqa: E402
import suite  # noqa: E402  (configs and helpers; suite imports this module only inside main)

KEY_TYPES = {
    "rsa": ("RSA-2048", ["-newkey", "rsa:2048"]),
    "ecdsa": ("ECDSA P-256", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
}


# MARK: - Certificates and kTLS

def make_cert(tmp, key):
    """A self-signed certificate for CN=bench (SAN bench, 127.0.0.1) made with the openssl CLI; returns the paths of
    the certificate, the key, and both in one file (HAProxy's `crt`)."""
    label, newkey = KEY_TYPES[key]
    cert, pkey, both = (os.path.join(tmp, f"{key}.{ext}") for ext in ("pem", "key", "combined.pem"))
    subprocess.run(["openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=bench",
                    "-addext", "subjectAltName=DNS:bench,IP:127.0.0.1", "-keyout", pkey, "-out", cert] + newkey,
                   check=True, capture_output=True)
    with open(both, "w") as f:
        f.write(open(cert).read() + open(pkey).read())
    return cert, pkey, both


def ktls_status():
    """(usable, why): kTLS needs the kernel's "tls" upper-layer protocol on a TCP socket (CONFIG_TLS)."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    c = socket.create_connection(ls.getsockname())
    try:
        c.setsockopt(socket.IPPROTO_TCP, 31, b"tls")  # TCP_ULP
        return True, "the kernel accepts TCP_ULP \"tls\""
    except OSError as e:
        why = f"setsockopt(TCP_ULP, \"tls\") fails with {e.strerror}"
        try:
            import gzip
            if "# CONFIG_TLS is not set" in gzip.open("/proc/config.gz", "rt").read():
                why += " (the kernel is built without CONFIG_TLS, and has no modules to load)"
        except OSError:
            pass
        return False, why
    finally:
        c.close()
        ls.close()


# MARK: - Configs

def nginx_tls(tmp, port, backend, cert, key, ktls=False, access_log="access_log off"):
    """nginx 1.22's default ssl_protocols stop at TLSv1.2 (1.23.4 added TLSv1.3): set to the later default."""
    name = f"nginx-tls-{port}"
    conf = f"""
worker_processes 1; daemon off; master_process off; pid {tmp}/{name}.pid; error_log {tmp}/{name}.err;
worker_rlimit_nofile 20000;
events {{ worker_connections 8192; }}
http {{ {access_log}; keepalive_requests 100000000; keepalive_timeout 300s;
  upstream b {{ server 127.0.0.1:{backend}; keepalive 64; keepalive_requests 100000000; }}
  server {{ listen 127.0.0.1:{port} ssl backlog=4096; ssl_certificate {cert}; ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3; {'ssl_conf_command Options KTLS;' if ktls else ''}
    location / {{ proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering on; }} }} }}
"""
    path = os.path.join(tmp, name + ".conf")
    open(path, "w").write(conf)
    return ["nginx", "-p", tmp, "-c", path]


def haproxy_tls(tmp, port, backend, combined):
    conf = f"""
global
  nbthread 1
  maxconn 9000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend f
  bind 127.0.0.1:{port} ssl crt {combined}
  default_backend b
backend b
  server s1 127.0.0.1:{backend}
"""
    path = os.path.join(tmp, f"haproxy-tls-{port}.cfg")
    open(path, "w").write(conf)
    return ["haproxy", "-f", path]


def envoy_tls(tmp, binary, port, backend, cert, key):
    argv = suite.envoy(tmp, binary, port, backend)
    cfg = json.load(open(argv[2]))
    cfg["static_resources"]["listeners"][0]["filter_chains"][0]["transport_socket"] = {
        "name": "envoy.transport_sockets.tls", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": {"tls_certificates": [
                {"certificate_chain": {"filename": cert}, "private_key": {"filename": key}}]}}}
    path = os.path.join(tmp, f"envoy-tls-{port}.json")
    json.dump(cfg, open(path, "w"))
    argv[2] = path
    return argv


def skiff_tls(skiff, tmp, port, backend, model, cert, key):
    """suite's Skiff config with MOSN's tls_context on the listener's filter chain."""
    argv = suite.skiff_argv(skiff, tmp, port, backend, model, max_connections=2000 if model == "rwloop" else 0)
    path = argv[argv.index("-c") + 1]
    cfg = json.load(open(path))
    chain = cfg["servers"][0]["listeners"][0]["filter_chains"][0]
    chain["tls_context"] = {"status": True, "cert_chain": cert, "private_key": key}
    chain["filters"][0]["config"]["upstream_protocol"] = "Http1"
    json.dump(cfg, open(path, "w"))
    return argv


def client_context():
    """The callgrind driver's client: TLS 1.3, no verification (self-signed), no session resumption."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def negotiated(port):
    """What a default client (no version pinned) gets, whether the server resumes the session it handed out, and
    whether a resumed connection gets a new ticket (clients that use a TLS 1.3 ticket once, as RFC 8446 advises and
    wrk does through OpenSSL's client cache, need one to resume again)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def get(session=None):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), session=session)
        try:
            s.sendall(b"GET /small HTTP/1.1\r\nHost: bench\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            return s.version(), s.cipher()[0], s.session, s.session_reused
        finally:
            s.close()

    version, cipher, session, _ = get()
    if session is None or not session.has_ticket:
        return f"{version} {cipher}, no session ticket"
    _, _, again, reused = get(session)
    if not reused:
        return f"{version} {cipher}, does not resume with its ticket"
    renewed = again is not None and again.id != session.id
    return f"{version} {cipher}, resumes; {'a new' if renewed else 'NO new'} ticket on a resumed connection"


NO_RESUME_C = r"""
/* LD_PRELOAD for wrk: a full TLS handshake on every connection. wrk reuses one SSL object per connection slot
   (SSL_shutdown + SSL_clear on close), and SSL_clear keeps the session, so the next SSL_connect resumes it. This drops
   the kept session before a handshake starts (SSL_connect is called again on each readiness event: only the first
   call, before the handshake, touches the session). */
#define _GNU_SOURCE
#include <dlfcn.h>
typedef struct ssl_st SSL;
int SSL_in_before(const SSL *s);
int SSL_set_session(SSL *s, void *session);
int SSL_connect(SSL *s) {
    static int (*real)(SSL *);
    if (!real) real = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_connect");
    if (SSL_in_before(s)) SSL_set_session(s, 0);
    return real(s);
}
"""


def no_resume_shim(tmp):
    """Builds the LD_PRELOAD above with cc; returns its path."""
    src, lib = os.path.join(tmp, "noresume.c"), os.path.join(tmp, "noresume.so")
    open(src, "w").write(NO_RESUME_C)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", lib, src, "-ldl"], check=True)
    return lib


# MARK: - The section

def section(out, phase, tmp, procs, backend, skiff, env_bin=None, rounds=5, duration=3, keys=("rsa", "ecdsa"),
            callgrind=True, keep_callgrind=None):
    """Runs the TLS rows and writes their tables through out(); the backend must be running on `backend`."""
    nan = float("nan")
    med, fmt = suite.med, suite.fmt
    ktls, ktls_why = ktls_status()
    certs = {k: make_cert(tmp, k) for k in keys}
    shim = no_resume_shim(tmp)
    if skiff_refuses_tls(skiff, tmp, backend, certs[keys[0]]):
        out()
        out("### TLS termination")
        out()
        out(f"Skipped: this Skiff refuses `tls_context` on a listener ({skiff_refuses_tls.why}).")
        return {}

    def candidates(key):
        cert, pkey, both = certs[key]
        c = [("HAProxy", lambda p: haproxy_tls(tmp, p, backend, both)),
             ("nginx", lambda p: nginx_tls(tmp, p, backend, cert, pkey))]
        if ktls:
            c.append(("nginx kTLS", lambda p: nginx_tls(tmp, p, backend, cert, pkey, ktls=True)))
        if env_bin:
            c.append(("Envoy", lambda p: envoy_tls(tmp, env_bin, p, backend, cert, pkey)))
        c += [("Skiff netpoll", lambda p: skiff_tls(skiff, tmp, p, backend, "netpoll", cert, pkey)),
              ("Skiff rwloop", lambda p: skiff_tls(skiff, tmp, p, backend, "rwloop", cert, pkey))]
        return c

    big_rounds = max(3, rounds // 2)
    res, seen = {}, {}
    for key in keys:
        label = KEY_TYPES[key][0]
        phase(f"TLS {label}: starting candidates")
        cands = suite.start_all(procs, tmp, candidates(key))
        order = list(cands.items())
        for name, (port, _) in order:
            seen[(key, name)] = negotiated(port)
            wrk(port, 64, 1, scheme="https")
        phase(f"TLS {label}: keep-alive c64")
        res[(key, "ka")] = suite.interleaved(order, rounds, lambda n, port, proc: suite.timed_wrk(
            port, proc, 64, duration, scheme="https"))
        phase(f"TLS {label}: /big c8")
        res[(key, "big")] = suite.interleaved(order, big_rounds, lambda n, port, proc: suite.timed_wrk(
            port, proc, 8, duration, path="/big", scheme="https"))
        phase(f"TLS {label}: full handshakes c16")
        res[(key, "hs")] = suite.interleaved(order, rounds, lambda n, port, proc: suite.timed_wrk(
            port, proc, 16, duration, close=True, scheme="https", preload=shim))
        if key == keys[0]:
            phase(f"TLS {label}: resumed handshakes c16")
            res[(key, "resumed")] = suite.interleaved(order, rounds, lambda n, port, proc: suite.timed_wrk(
                port, proc, 16, duration, close=True, scheme="https"))
        for _, (_, proc) in order:
            procs.stop(proc)
    names = [n for n, _ in candidates(keys[0])]

    cg = {}
    if callgrind:
        phase("TLS: callgrind")
        skiff_cg = os.path.join(tmp, "skiff-nodebug")
        if not os.path.exists(skiff_cg):
            # valgrind 3.19 cannot read the DWARF 5 that Swift emits: run a copy without debug info.
            subprocess.run(["objcopy", "--strip-debug", skiff, skiff_cg], check=True)
        jobs = []
        for i, key in enumerate(keys):
            cert, pkey, both = certs[key]
            for name, fn in [
                ("nginx", lambda p, c=cert, k=pkey: nginx_tls(tmp, p, backend, c, k)),
                ("HAProxy", lambda p, b=both: haproxy_tls(tmp, p, backend, b)),
                ("Envoy", lambda p, c=cert, k=pkey: envoy_tls(tmp, env_bin, p, backend, c, k)),
                ("Skiff netpoll", lambda p, c=cert, k=pkey: skiff_tls(skiff_cg, tmp, p, backend, "netpoll", c, k)),
                ("Skiff rwloop", lambda p, c=cert, k=pkey: skiff_tls(skiff_cg, tmp, p, backend, "rwloop", c, k)),
            ]:
                if name == "Envoy" and not env_bin:
                    continue
                windows = [(10000, "keepalive"), (200, "close"), (200, "resume")] if i == 0 else [(200, "close")]
                jobs.append((key, name, fn, windows))

        def one(job):
            key, name, fn, windows = job
            port = free_port()
            tag = f"tls {key} {name}"
            try:
                got = callgrind_windows(procs, fn(port), port, tmp, tag, windows, tls=client_context())
                cg[(key, name)] = {mode: v for (_, mode), v in zip(windows, got)}
            except Exception as e:  # reported in the table
                print(f"callgrind {tag}: {e}", file=sys.stderr)
            if keep_callgrind:
                os.makedirs(keep_callgrind, exist_ok=True)
                prefix = "cg." + re.sub(r"\W", "", tag)
                for f in os.listdir(tmp):
                    if f.startswith(prefix + "."):
                        shutil.copy(os.path.join(tmp, f), keep_callgrind)

        for i in range(0, len(jobs), 2):
            ts = [threading.Thread(target=one, args=(j,)) for j in jobs[i:i + 2]]
            for t in ts:
                t.start()
            for t in ts:
                t.join()

    # Tables.
    def m(key, kind, name, field):
        return med([x[field] for x in res[(key, kind)].get(name, [])])

    out()
    out("### TLS termination: what each proxy negotiates with a default client (TLS 1.3 everywhere)")
    out()
    out("| candidate | " + " | ".join(KEY_TYPES[k][0] for k in keys) + " |")
    out("|---|" + "---|" * len(keys))
    for name in names:
        out(f"| {name} | " + " | ".join(seen.get((k, name), "-") for k in keys) + " |")
    out()
    out(f"Same certificate and key files for every proxy, made with the openssl CLI at bench time. wrk resumes TLS "
        f"sessions: it keeps one SSL object per connection slot and SSL_clear keeps the session, so each new "
        f"connection resumes with the ticket the previous one got (seen in nginx's $ssl_session_reused). The full-"
        f"handshake rows run wrk with an LD_PRELOAD that drops that session before each handshake; the resumed rows "
        f"run wrk as it is. OpenSSL's client cache uses a TLS 1.3 ticket once, so wrk resumes every connection only "
        f"from a server that sends a new ticket on resumed connections; from one that does not, every other "
        f"connection is a full handshake (the table above says which). kTLS: "
        + ("nginx measured with and without it." if ktls else
           f"not available here, {ktls_why}; nginx runs without it (Skiff never uses it)."))

    def handshake_table(kind, title, keys_):
        out()
        out(title)
        out()
        out("| key | candidate | handshakes/s | p99 ms | proxy CPU us/handshake | errors | vs nginx |")
        out("|---|---|---|---|---|---|---|")
        for key in keys_:
            ng = m(key, kind, "nginx", "rps")
            for name in names:
                r = res[(key, kind)][name]
                bad = sum(x["errors"] for x in r)
                serr = next((x["sockerr"] for x in r if x["sockerr"]), "")
                out(f"| {KEY_TYPES[key][0]} | {name} | {fmt(m(key, kind, name, 'rps'))} | "
                    f"{fmt(m(key, kind, name, 'p99'), '.2f')} | {fmt(m(key, kind, name, 'cpu_us'), '.0f')} | "
                    f"{bad}{' ' + serr if serr else ''} | {m(key, kind, name, 'rps') / ng:.2f}x |")

    handshake_table("hs", f"### TLS 1.3, full handshake per request (new connection, Connection: close, wrk -t1 -c16 "
                          f"with session resumption disabled in the client), /small, {rounds} rounds x {duration} s",
                    keys)
    handshake_table("resumed", f"### TLS 1.3, resumed handshake per request (new connection, Connection: close, "
                               f"wrk -t1 -c16 as it is: it resumes with the server's ticket), /small, {rounds} rounds "
                               f"x {duration} s (no certificate in a resumed handshake: one key type)", keys[:1])

    out()
    out(f"### TLS 1.3 keep-alive, /small (64 B), wrk -t1 -c64, {rounds} rounds x {duration} s")
    out()
    out("| key | candidate | req/s | p50 ms | p99 ms | proxy CPU us/req | errors | vs nginx | vs HAProxy |")
    out("|---|---|---|---|---|---|---|---|---|")
    for key in keys:
        ng, ha = m(key, "ka", "nginx", "rps"), m(key, "ka", "HAProxy", "rps")
        for name in names:
            r = res[(key, "ka")][name]
            rps = m(key, "ka", name, "rps")
            out(f"| {KEY_TYPES[key][0]} | {name} | {fmt(rps)} | {fmt(m(key, 'ka', name, 'p50'), '.2f')} | "
                f"{fmt(m(key, 'ka', name, 'p99'), '.2f')} | {fmt(m(key, 'ka', name, 'cpu_us'), '.1f')} | "
                f"{sum(x['errors'] for x in r)} | {rps / ng:.2f}x | {rps / ha:.2f}x |")

    out()
    out(f"### TLS 1.3, /big (1 MiB responses), wrk -t1 -c8, {big_rounds} rounds x {duration} s")
    out()
    out("| key | candidate | MB/s | p99 ms | proxy CPU us/MiB | vs HAProxy |")
    out("|---|---|---|---|---|---|")
    for key in keys:
        ha = m(key, "big", "HAProxy", "mbps")
        for name in names:
            mb = m(key, "big", name, "mbps")
            # cpu_us is per request, and each request is 1 MiB.
            out(f"| {KEY_TYPES[key][0]} | {name} | {fmt(mb)} | {fmt(m(key, 'big', name, 'p99'), '.1f')} | "
                f"{fmt(m(key, 'big', name, 'cpu_us'), '.0f')} | {mb / ha:.2f}x |")

    if callgrind:
        out()
        out(f"### TLS 1.3 instructions per request under callgrind (user space; Python ssl client; after 200 "
            f"warm-up requests: 10,000 keep-alive requests over 4 connections opened before counting; 200 requests "
            f"each on a new connection with a full handshake (+ request + close), per key type; 200 each on a new "
            f"connection resuming the previous one's session, {KEY_TYPES[keys[0]][0]} listener)")
        out()
        out("| candidate | keep-alive | resumed handshake + request | " +
            " | ".join(f"full handshake + request, {KEY_TYPES[k][0]}" for k in keys) + " |")
        out("|---|---|---|" + "---|" * len(keys))
        for name in ["nginx", "HAProxy", "Envoy", "Skiff netpoll", "Skiff rwloop"]:
            if name == "Envoy" and not env_bin:
                continue
            first = cg.get((keys[0], name), {})
            out(f"| {name} | {fmt(first.get('keepalive', nan))} | {fmt(first.get('resume', nan))} | " +
                " | ".join(fmt(cg.get((k, name), {}).get("close", nan)) for k in keys) + " |")

    # Targets.
    def row(what, ours, theirs, ok):
        out(f"| {what} | {ours} | {theirs} | {'met' if ok else 'GAP'} |")

    out()
    out("### TLS targets, this run")
    out()
    out("| target | Skiff netpoll | reference | verdict |")
    out("|---|---|---|---|")
    s = "Skiff netpoll"
    for key in keys:
        lab = KEY_TYPES[key][0]
        sv, nv = m(key, "hs", s, "rps"), m(key, "hs", "nginx", "rps")
        row(f"{lab}: full handshakes/s >= nginx", fmt(sv), f"nginx {fmt(nv)}", sv >= nv)
    sv, nv = m(keys[0], "resumed", s, "rps"), m(keys[0], "resumed", "nginx", "rps")
    row("resumed handshakes/s >= nginx", fmt(sv), f"nginx {fmt(nv)}", sv >= nv)
    for key in keys:
        lab = KEY_TYPES[key][0]
        sv, sp = m(key, "ka", s, "rps"), m(key, "ka", s, "p99")
        nv, np_ = m(key, "ka", "nginx", "rps"), m(key, "ka", "nginx", "p99")
        hv, hp = m(key, "ka", "HAProxy", "rps"), m(key, "ka", "HAProxy", "p99")
        row(f"{lab}: keep-alive c64 req/s >= nginx and HAProxy, p99 no worse",
            f"{fmt(sv)} req/s, p99 {fmt(sp, '.2f')} ms",
            f"nginx {fmt(nv)}, {fmt(np_, '.2f')} ms; HAProxy {fmt(hv)}, {fmt(hp, '.2f')} ms",
            sv >= max(nv, hv) and sp <= min(np_, hp))
    if callgrind:
        k0 = keys[0]
        sv, nv = cg.get((k0, s), {}).get("keepalive", nan), cg.get((k0, "nginx"), {}).get("keepalive", nan)
        row("keep-alive instructions/request <= nginx", fmt(sv), f"nginx {fmt(nv)}", sv <= nv)
        sv, nv = cg.get((k0, s), {}).get("resume", nan), cg.get((k0, "nginx"), {}).get("resume", nan)
        row("resumed handshake instructions/request <= nginx", fmt(sv), f"nginx {fmt(nv)}", sv <= nv)
        for key in keys:
            sv, nv = cg.get((key, s), {}).get("close", nan), cg.get((key, "nginx"), {}).get("close", nan)
            row(f"{KEY_TYPES[key][0]}: full handshake instructions/request <= nginx", fmt(sv), f"nginx {fmt(nv)}",
                sv <= nv)
    for key in keys:
        sv, hv = m(key, "big", s, "mbps"), m(key, "big", "HAProxy", "mbps")
        row(f"{KEY_TYPES[key][0]}: /big MB/s >= HAProxy", fmt(sv), f"HAProxy {fmt(hv)}", sv >= hv)
    return {"res": res, "cg": cg}


def skiff_refuses_tls(skiff, tmp, backend, cert):
    """True when `skiff validate` rejects a listener with tls_context (a build from before the decoder)."""
    argv = skiff_tls(skiff, tmp, free_port(), backend, "netpoll", cert[0], cert[1])
    r = subprocess.run([skiff, "validate", "-c", argv[argv.index("-c") + 1]], capture_output=True, text=True)
    skiff_refuses_tls.why = (r.stdout + r.stderr).strip().splitlines()[-1:] or ["?"]
    skiff_refuses_tls.why = skiff_refuses_tls.why[0]
    return r.returncode != 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", default=os.path.join(HERE, "..", ".build", "release", "skiff"))
    ap.add_argument("--envoy", default=os.environ.get("ENVOY", os.path.join(HERE, "..", ".build-bench", "envoy",
                                                                            "envoy", "_bin", "envoy")))
    ap.add_argument("--no-envoy", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--keys", default="rsa,ecdsa", help="key types, in order: rsa, ecdsa")
    ap.add_argument("--skip-callgrind", action="store_true")
    ap.add_argument("--keep-callgrind", help="copy Skiff's callgrind dumps into this folder (bench/callgrind_top.py)")
    ap.add_argument("--out", help="also write the tables here")
    a = ap.parse_args()
    for tool in ["nginx", "haproxy", "wrk", "openssl"] + ([] if a.skip_callgrind else ["valgrind"]):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: bench/run.sh installs the peers")
    env_bin = None if a.no_envoy or not os.access(a.envoy, os.X_OK) else os.path.abspath(a.envoy)
    if env_bin is None and not a.no_envoy:
        print(f"envoy not found at {a.envoy}: running without it", file=sys.stderr)
    keys = tuple(k.strip() for k in a.keys.split(","))
    tmp = tempfile.mkdtemp(prefix="skiff-tls-")
    procs = Procs()
    lines = []
    started = time.time()

    def out(s=""):
        print(s, flush=True)
        lines.append(s)

    def phase(s):
        print(f"[{time.time() - started:5.0f} s] {s}", file=sys.stderr, flush=True)

    out(f"## TLS termination, {time.strftime('%Y-%m-%d %H:%M')} ({machine_line()})")
    out()
    out(f"{subprocess.run(['openssl', 'version'], capture_output=True, text=True).stdout.strip()} (Skiff, nginx, "
        f"HAProxy{'; Envoy: BoringSSL' if env_bin else ''}). {a.rounds} rounds x {a.duration} s, medians.")
    try:
        backend = free_port()
        procs.start(suite.nginx_backend(tmp, backend))
        wait_port(backend)
        section(out, phase, tmp, procs, backend, os.path.abspath(a.skiff), env_bin, a.rounds, a.duration, keys,
                not a.skip_callgrind, a.keep_callgrind)
        out()
        out(f"Took {time.time() - started:.0f} s. {machine_line()}.")
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    if a.out:
        open(a.out, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
