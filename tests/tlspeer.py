#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""TLS peers for the ClientHello check's suite (tests/integration/79-tls.sh).

  tlspeer.py front ADDR PORT CERTDIR       a shared front door: a TLS server that picks its
                                           certificate by the server name (CERTDIR/NAME.pem,
                                           default.pem without one) and answers any request
                                           with "served NAME"; prints READY
  tlspeer.py raw ADDR PORT LOG             a TCP server that reads whatever comes and writes,
                                           per connection, "PORT <client port> BYTES <n> MARKER
                                           yes|no" to LOG when it ends (or after 5 s)
  tlspeer.py get NAME PORT CAFILE [SNI]    Python's ssl: resolve NAME (getaddrinfo), connect,
                                           handshake with server_hostname SNI (default NAME; "-"
                                           for none) and GET /: prints the answer's body, or the
                                           error's name
  tlspeer.py hello NAME PORT KIND [ARG...] resolve NAME, connect, send a crafted ClientHello of
                                           KIND (below), then an application data record with
                                           the marker, and wait for an answer or an error (3 s).
                                           Prints "SPORT <port> <outcome> <ms>": OK (the peer
                                           closed once the client ended its side), ECONNABORTED / ECONNRESET /
                                           EPERM / TIMEOUT, and when it came, in ms after the
                                           ClientHello was sent
      plain SNI            one record, one segment
      second SNI           a 3000-byte padding extension before server_name: the name is in
                           the second segment
      shuffled SNI         extensions in random order (seeded by the name)
      records1 SNI         every byte in a record of its own
      hrr SNI1 SNI2        a ClientHello for SNI1, a ChangeCipherSpec, then a second
                           ClientHello for SNI2 (as after a HelloRetryRequest)
      ech OUTER            an encrypted_client_hello extension, OUTER as the outer name
      nosni                no server_name extension
      notls                an HTTP request instead
      huge SNI             a ClientHello of 17000 bytes (over MCPF_TLS_HELLO_MAX)
      tfo SNI              the ClientHello in the SYN (TCP Fast Open, MSG_FASTOPEN)
  tlspeer.py hellos NAME PORT SPEC...      the same for each SPEC, KIND[,ARG...], one after the
                                           other in one process (a line each)
  tlspeer.py quic NAME PORT                resolve NAME, send a QUIC-Initial-like datagram to
                                           it over UDP: OK or EPERM
"""
import errno
import os
import random
import socket
import ssl
import struct
import sys
import threading
import time

MARKER = b"APPDATA-MARKER-0123456789"


def resolve(name, port, kind=socket.SOCK_STREAM):
    info = socket.getaddrinfo(name, port, socket.AF_INET, kind)[0]
    return info[4][0]


def ext(kind, body):
    return struct.pack("!HH", kind, len(body)) + body


def sni_ext(name):
    n = name.encode()
    return ext(0, struct.pack("!HBH", len(n) + 3, 0, len(n)) + n)


def client_hello(sni=None, pad=0, shuffle=False, extra=()):
    exts = [
        ext(0x002B, b"\x04\x03\x04\x03\x03"),  # supported_versions: 1.3, 1.2
        ext(0x000A, b"\x00\x04\x00\x1d\x00\x17"),  # supported_groups
        ext(0x000D, b"\x00\x04\x04\x03\x08\x04"),  # signature_algorithms
        ext(0x0033, struct.pack("!HHH", 36, 0x001D, 32) + os.urandom(32)),  # key_share x25519
    ]
    exts += list(extra)
    if pad:
        exts.insert(0, ext(0x0015, b"\x00" * pad))  # padding, before the name
    if sni is not None:
        exts.append(sni_ext(sni))
    if shuffle:
        random.Random(sni).shuffle(exts)
    e = b"".join(exts)
    suites = b"\x13\x01\x13\x02\xc0\x2f"
    body = (b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32) + struct.pack("!H", len(suites)) +
            suites + b"\x01\x00" + struct.pack("!H", len(e)) + e)
    return b"\x01" + struct.pack("!I", len(body))[1:] + body


def records(kind, payload, size=16384):
    out = b""
    for i in range(0, len(payload), size):
        chunk = payload[i:i + size]
        out += struct.pack("!BHH", kind, 0x0301, len(chunk)) + chunk
    return out


def err_name(e):
    return errno.errorcode.get(getattr(e, "errno", None) or 0, type(e).__name__)


def cmd_front(addr, port, certdir):
    ctxs = {}
    for f in os.listdir(certdir):
        if f.endswith(".pem") and not f.startswith("ca"):
            c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            c.load_cert_chain(os.path.join(certdir, f))
            ctxs[f[:-4]] = c
    default = ctxs["default"]

    def pick(sock, name, ctx):
        sock.context = ctxs.get(name or "default", default)
        sock.mcpf_name = name

    default.sni_callback = pick
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, int(port)))
    ls.listen(64)
    print("READY", flush=True)

    def serve(c):
        c.settimeout(5)
        try:
            t = default.wrap_socket(c, server_side=True)
            data = b""
            while b"\r\n\r\n" not in data:
                d = t.recv(4096)
                if not d:
                    return
                data += d
            body = ("served %s\n" % getattr(t, "mcpf_name", None)).encode()
            t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
            t.close()
        except Exception:
            pass
        finally:
            c.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def cmd_raw(addr, port, log):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
    except OSError:
        pass
    ls.bind((addr, int(port)))
    ls.listen(64)
    lock = threading.Lock()
    print("READY", flush=True)

    def serve(c, peer):
        data = b""
        c.settimeout(5)
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                data += d
        except OSError:
            pass
        c.close()
        with lock, open(log, "a") as f:
            f.write("PORT %d BYTES %d MARKER %s\n" % (peer[1], len(data), "yes" if MARKER in data else "no"))

    while True:
        c, peer = ls.accept()
        threading.Thread(target=serve, args=(c, peer), daemon=True).start()


def cmd_get(name, port, cafile, sni=None):
    sni = name if sni is None else sni
    ctx = ssl.create_default_context(cafile=cafile)
    if sni == "-":
        ctx.check_hostname = False
        sni = None
    try:
        addr = resolve(name, int(port))
        s = socket.create_connection((addr, int(port)), timeout=5)
        t = ctx.wrap_socket(s, server_hostname=sni)
        t.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = b""
        while True:
            d = t.recv(4096)
            if not d:
                break
            reply += d
        print(reply.split(b"\r\n\r\n", 1)[-1].decode().strip())
    except socket.gaierror:
        print("NORESOLVE")
    except ssl.SSLError as e:
        print("SSLError", e.reason)
    except OSError as e:
        print(err_name(e))


def hello_bytes(kind, args):
    if kind == "plain":
        return [records(22, client_hello(args[0]))]
    if kind == "second":
        return [records(22, client_hello(args[0], pad=3000))]
    if kind == "shuffled":
        return [records(22, client_hello(args[0], pad=40, shuffle=True))]
    if kind == "records1":
        return [records(22, client_hello(args[0]), size=1)]
    if kind == "hrr":
        return [records(22, client_hello(args[0])) + records(20, b"\x01"), records(22, client_hello(args[1]))]
    if kind == "ech":
        return [records(22, client_hello(args[0], extra=[ext(0xFE0D, b"\x00\x00\x01\x00\x01\x2a" + os.urandom(200))]))]
    if kind == "nosni":
        return [records(22, client_hello(None))]
    if kind == "notls":
        return [b"GET / HTTP/1.1\r\nHost: raw.tls.mcpf\r\n\r\n"]
    if kind == "huge":
        return [records(22, client_hello(args[0], pad=17000))]
    if kind == "tfo":
        return [records(22, client_hello(args[0]))]
    raise SystemExit("unknown kind " + kind)


def cmd_hello(name, port, kind, *args):
    parts = hello_bytes(kind, args)
    appdata = records(23, MARKER)
    try:
        addr = resolve(name, int(port))
    except socket.gaierror:
        print("SPORT 0 NORESOLVE 0")
        return
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(3)
    sport, t0 = 0, time.monotonic()
    try:
        if kind == "tfo":
            s.sendto(parts[0], socket.MSG_FASTOPEN, (addr, int(port)))
        else:
            s.connect((addr, int(port)))
        sport = s.getsockname()[1]
        t0 = time.monotonic()
        for i, p in enumerate(parts if kind != "tfo" else []):
            if kind == "second":  # two segments: the name is in the second
                s.send(p[:1200])
                time.sleep(0.05)
                s.send(p[1200:])
            else:
                s.send(p)
            if i + 1 < len(parts):
                time.sleep(0.05)
        time.sleep(0.05)
        s.send(appdata)
        s.shutdown(socket.SHUT_WR)  # the server answers the end of the stream by closing
        s.recv(100)
        outcome = "OK"
    except socket.timeout:
        outcome = "TIMEOUT"
    except OSError as e:
        outcome = err_name(e)
    print("SPORT %d %s %d" % (sport, outcome, (time.monotonic() - t0) * 1000))


def cmd_hellos(name, port, *specs):
    for spec in specs:
        kind, *args = spec.split(",")
        cmd_hello(name, port, kind, *args)
        sys.stdout.flush()


def cmd_quic(name, port):
    addr = resolve(name, int(port), socket.SOCK_DGRAM)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    initial = bytes([0xC3]) + b"\x00\x00\x00\x01" + b"\x08" + os.urandom(8) + b"\x00" + os.urandom(1180)
    try:
        s.sendto(initial, (addr, int(port)))
        print("OK")
    except OSError as e:
        print(err_name(e))


if __name__ == "__main__":
    cmds = {"front": cmd_front, "raw": cmd_raw, "get": cmd_get, "hello": cmd_hello, "hellos": cmd_hellos, "quic": cmd_quic}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__)
        sys.exit(2)
    cmds[sys.argv[1]](*sys.argv[2:])
