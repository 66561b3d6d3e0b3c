#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A hostile workload's tries at the DNS check and the protocol hooks, for the hardening suite
(tests/integration/72-hardening.sh). Each op prints one result line; a resolver "answered" a
query when a reply with the query's transaction id came back within the op's time.

  dnsattack.py protocols PROCS DST4 DST6   every (family, type, protocol) socket this kernel
                                           makes, each tried against a receiver made before the
                                           process joins the cgroup whose cgroup.procs is PROCS
                                           ("-": stay): "FAMILY/TYPE/PROTO refused|judged|
                                           delivered|untested", one a line
  dnsattack.py gso RES PORT ALLOWED UNLISTED   one UDP_SEGMENT send of two queries: "SEND x
                                           ANSWERED names..."
  dnsattack.py peer-sendto PEER PEERPORT RES PORT NAME   a UDP socket connected to PEER sends
                                           a query for NAME to RES: "SEND x ANSWERED y"
  dnsattack.py urgent RES PORT NAME OOB    TCP: one framed query; when OOB is 1 it is sent in
                                           one segment with its last byte urgent, then again
                                           (a server that skips urgent bytes completes the first
                                           with the second's first byte, and answers it):
                                           "ANSWERED y" (no reply in 2 s: "ANSWERED no")
  dnsattack.py dstopts RES6 PORT NAME      UDP over IPv6 with a sticky destination options
                                           header (needs CAP_NET_RAW): "SEND x ANSWERED y"
  dnsattack.py extra RES PORT NAME KIND    a query with KIND after the question: none, trailing
                                           (3900 bytes, ARCOUNT 0), txt (a 3900-byte TXT
                                           additional record), edns-big (one 3900-byte option),
                                           cookie (an 8-byte EDNS cookie): "SEND x ANSWERED y"
  dnsattack.py exfil RES PORT SUFFIX SECONDS   queries for fresh names of three 63-character
                                           hex labels under SUFFIX, as fast as sends go: "SENT n
                                           REFUSED n"
  dnsattack.py sink ADDR PORT              a UDP resolver that counts what reaches it until
                                           SIGTERM: "RECEIVED n BYTES b" (query names' label
                                           bytes)
  dnsattack.py split-server ADDR PORT      a TCP resolver that is honest but writes some
                                           replies in two segments (see split-client)
  dnsattack.py split-client RES PORT MODE ADDR   the split-reply forgery teaching ADDR (see
                                           split_client), then a TCP connect to ADDR:8080:
                                           "CONNECT x"
"""
import errno
import os
import random
import select
import signal
import socket
import struct
import sys
import time

IPPROTO_UDPLITE = 136
UDP_SEGMENT = 103


def wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(txid, qname_wire, qtype=1, arcount=0):
    return struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, arcount) + qname_wire + struct.pack("!HH", qtype, 1)


def err(e):
    return errno.errorcode.get(e.errno, str(e))


def send_result(fn):
    try:
        fn()
        return "OK"
    except OSError as e:
        return err(e)


def answered(s, txids, wait=1.0):
    """The transaction ids among txids that got a reply on s within wait seconds."""
    got = set()
    end = time.monotonic() + wait
    while time.monotonic() < end and got != set(txids):
        r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        try:
            msg = s.recv(65535)
        except OSError:
            break
        if len(msg) >= 2:
            t = struct.unpack("!H", msg[:2])[0]
            if t in txids:
                got.add(t)
    return got


# ---- protocols


def protocols(procs, dst4, dst6):
    kinds = {1: "stream", 2: "dgram", 5: "seqpacket", 6: "dccp"}
    offered = []
    for fam, fname in ((socket.AF_INET, "inet"), (socket.AF_INET6, "inet6")):
        for typ, tname in kinds.items():
            for proto in list(range(1, 256)) + [262]:
                if proto in (255,):  # IPPROTO_RAW: a raw socket, tried by the raw rows
                    continue
                try:
                    s = socket.socket(fam, typ, proto)
                except OSError:
                    continue
                s.close()
                offered.append((fam, fname, typ, tname, proto))
    # receivers first, outside: receiving is never judged, and the cgroup may refuse to make them
    recv = {}
    port = 40000
    for fam, fname, typ, tname, proto in offered:
        port += 1
        dst = dst4 if fam == socket.AF_INET else dst6
        try:
            r = socket.socket(fam, typ, proto)
            r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            r.bind((dst, port))
            if typ in (1, 5, 6):
                r.listen(8)
            r.setblocking(False)
            recv[(fam, typ, proto)] = (r, port)
        except OSError:
            pass
    if procs != "-":
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
    for fam, fname, typ, tname, proto in offered:
        label = "%s/%s/%d" % (fname, tname, proto)
        dst = dst4 if fam == socket.AF_INET else dst6
        try:
            s = socket.socket(fam, typ, proto)
        except PermissionError:
            print(label, "refused", flush=True)
            continue
        except OSError as e:
            print(label, "untested: socket()", err(e), flush=True)
            continue
        if (fam, typ, proto) not in recv:
            s.close()
            print(label, "untested: no receiver", flush=True)
            continue
        r, p = recv[(fam, typ, proto)]
        s.settimeout(1)
        tries = []
        try:
            s.connect((dst, p))
            tries.append("connect OK")
            tries.append("send " + send_result(lambda: s.send(b"payload")))
        except OSError as e:
            tries.append("connect " + err(e))
        if typ != 1:  # datagrams and SCTP-like: also an unconnected send
            u = socket.socket(fam, typ, proto)
            u.settimeout(1)
            tries.append("sendto " + send_result(lambda: u.sendto(b"payload", (dst, p))))
            u.close()
        got = False
        end = time.monotonic() + 0.3
        while time.monotonic() < end and not got:
            rr, _, _ = select.select([r], [], [], 0.05)
            if not rr:
                continue
            try:
                if typ in (1, 5, 6):
                    c, _ = r.accept()
                    c.close()
                    got = True
                elif r.recv(65535):
                    got = True
            except OSError:
                pass
        s.close()
        print(label, "delivered" if got else "judged", "(" + ", ".join(tries) + ")", flush=True)


# ---- the query check


def gso(res, port, allowed, unlisted):
    q1 = query(0x1001, wire(allowed))
    q2 = query(0x1002, wire(unlisted))
    n = max(len(q1), len(q2))
    # segments of one size (the last may be shorter): pad the first with a harmless tail the
    # resolver ignores is not possible in DNS, so use names of one length
    if len(q1) != len(q2):
        sys.exit("gso: give names of one length")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_UDP, UDP_SEGMENT, n)
    r = send_result(lambda: s.sendto(q1 + q2, (res, port)))
    got = answered(s, {0x1001, 0x1002})
    names = [nm for t, nm in ((0x1001, allowed), (0x1002, unlisted)) if t in got]
    print("SEND", r, "ANSWERED", " ".join(names) or "none")


def peer_sendto(peer, peerport, res, port, name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((peer, peerport))
    r = send_result(lambda: s.sendto(query(0x2001, wire(name)), (res, port)))
    print("SEND", r, "ANSWERED", "yes" if answered(s, {0x2001}) else "no")


def urgent(res, port, name, oob):
    s = socket.create_connection((res, port), timeout=2)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    q = query(0x3001, wire(name))
    frame = struct.pack("!H", len(q)) + q
    if oob:  # one segment, its last byte urgent: the server skips that byte; the query sent
        s.send(frame, socket.MSG_OOB)  # again, whole, completes it (framing now one byte off)
        time.sleep(0.05)
        s.send(frame)
    else:
        s.send(frame)
    got = False
    try:
        data = s.recv(65535)
        got = len(data) >= 4 and struct.unpack("!H", data[2:4])[0] == 0x3001
    except OSError:
        pass
    print("ANSWERED", "yes" if got else "no")


def dstopts(res, port, name):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    # next header (the kernel's), length 0 (8 bytes), PadN of 4 zero bytes
    opt = b"\x00\x00\x01\x04\x00\x00\x00\x00"
    try:
        s.setsockopt(socket.IPPROTO_IPV6, 59, opt)  # IPV6_DSTOPTS
    except OSError as e:
        print("SETSOCKOPT", err(e))
        return
    r = send_result(lambda: s.sendto(query(0x4001, wire(name)), (res, port)))
    print("SEND", r, "ANSWERED", "yes" if answered(s, {0x4001}) else "no")


def extra(res, port, name, kind):
    blob = os.urandom(1950).hex().encode()[:3900]
    qw = wire(name)
    if kind == "none":
        msg = query(0x5001, qw)
    elif kind == "trailing":
        msg = query(0x5001, qw) + blob
    elif kind == "txt":
        rdata = b"".join(bytes([len(blob[i:i + 255])]) + blob[i:i + 255] for i in range(0, len(blob), 255))
        msg = query(0x5001, qw, arcount=1) + b"\x00" + struct.pack("!HHIH", 16, 1, 0, len(rdata)) + rdata
    elif kind == "edns-big":
        opt = struct.pack("!HH", 65001, len(blob)) + blob
        msg = query(0x5001, qw, arcount=1) + b"\x00" + struct.pack("!HHIH", 41, 4096, 0, len(opt)) + opt
    elif kind == "cookie":
        opt = struct.pack("!HH", 10, 8) + os.urandom(8)
        msg = query(0x5001, qw, arcount=1) + b"\x00" + struct.pack("!HHIH", 41, 4096, 0, len(opt)) + opt
    else:
        sys.exit("extra: unknown kind " + kind)
    s = socket.socket(socket.AF_INET6 if ":" in res else socket.AF_INET, socket.SOCK_DGRAM)
    r = send_result(lambda: s.sendto(msg, (res, port)))
    print("SEND", r, "ANSWERED", "yes" if answered(s, {0x5001}) else "no")


def exfil(res, port, suffix, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((res, port))
    s.setblocking(False)
    sw = wire(suffix)
    sent = refused = 0
    txid = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in range(64):
            labels = os.urandom(95).hex()[:189]
            qn = b"".join(bytes([63]) + labels[i:i + 63].encode() for i in (0, 63, 126)) + sw
            txid = (txid + 1) & 0xFFFF
            try:
                s.send(query(txid, qn))
                sent += 1
            except BlockingIOError:
                pass
            except PermissionError:
                refused += 1
        try:  # drain replies so that the socket's buffer never stops the sends
            while s.recv(65535):
                pass
        except OSError:
            pass
    print("SENT", sent, "REFUSED", refused)


def sink(addr, port):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((addr, port))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    print("READY", flush=True)
    n = label_bytes = 0
    buf = bytearray(65535)
    s.settimeout(0.2)
    while not stop:
        try:
            k = s.recv_into(buf)
        except (socket.timeout, InterruptedError):
            continue
        n += 1
        off = 12
        while off < k and buf[off]:  # the question's label bytes: what a tunnel carries
            label_bytes += buf[off]
            off += buf[off] + 1
    # what is still queued arrived before the stop
    s.setblocking(False)
    try:
        while True:
            k = s.recv_into(buf)
            n += 1
            off = 12
            while off < k and buf[off]:
                label_bytes += buf[off]
                off += buf[off] + 1
    except BlockingIOError:
        pass
    print("RECEIVED", n, "BYTES", label_bytes, flush=True)


# ---- the TCP reply reader


def frame(msg):
    return struct.pack("!H", len(msg)) + msg


def forged_reply(addr):
    """A reply to the held query (txid 0x6001, hold.split.test A) teaching addr."""
    msg = struct.pack("!HHHHHH", 0x6001, 0x8400, 1, 1, 0, 0) + wire("hold.split.test") + struct.pack("!HH", 1, 1)
    msg += struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + socket.inet_aton(addr)
    return frame(msg)


def split_server(addr, port):
    """Replies with NXDOMAIN, echoing the question, except: names starting "hold" get no reply
    (they stay pending); "cut" names are answered in two writes, the second starting at the
    content of the label after "cut" (the echo the client chose); "fwd" names get the content of
    that label sent as a message of its own, then their reply; "ok" names get 127.0.50.3."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(16)
    print("READY", flush=True)
    while True:
        c, _ = srv.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.settimeout(5)
        buf = b""
        try:
            while True:
                d = c.recv(65535)
                if not d:
                    break
                buf += d
                while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                    n = struct.unpack("!H", buf[:2])[0]
                    q, buf = buf[2:2 + n], buf[2 + n:]
                    serve_one(c, q)
        except OSError:
            pass
        c.close()


def serve_one(c, q):
    off, labels = 12, []
    while q[off]:
        labels.append(q[off + 1:off + 1 + q[off]])
        off += q[off] + 1
    qend = off + 5
    first = labels[0] if labels else b""
    if first.startswith(b"hold"):
        return
    if first == b"ok":
        rep = q[:2] + struct.pack("!HHHHH", 0x8400, 1, 1, 0, 0) + q[12:qend]
        rep += struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + socket.inet_aton("127.0.50.3")
        c.sendall(frame(rep))
        return
    rep = frame(q[:2] + struct.pack("!HHHHH", 0x8183, 1, 0, 0, 0) + q[12:qend])
    if first == b"fwd":
        c.sendall(labels[1])
        time.sleep(0.05)
        c.sendall(rep)
    elif first == b"cut":
        at = 2 + 12 + 1 + len(first) + 1  # the content of the label after "cut"
        c.sendall(rep[:at])
        time.sleep(0.05)
        c.sendall(rep[at:])
    else:
        c.sendall(rep)


def split_client(res, port, mode, addr):
    """mode cut: a held query, then one whose echo puts a forged reply at the start of the
    reply's second segment; fwd: the same bytes, sent by the resolver as a message of their own
    (the control: what they would teach were they a reply); ok: an honest one-segment reply."""
    s = socket.create_connection((res, port), timeout=3)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if mode in ("cut", "fwd"):
        s.send(frame(query(0x6001, wire("hold.split.test"))))
        time.sleep(0.05)
        fake = forged_reply(addr)
        qn = bytes([len(mode)]) + mode.encode() + bytes([len(fake)]) + fake + wire("split.test")
        s.send(frame(query(0x6002, qn)))
    else:
        s.send(frame(query(0x6003, wire("ok.split.test"))))
    s.settimeout(1)
    try:
        while s.recv(65535):
            pass
    except OSError:
        pass
    try:
        c = socket.create_connection((addr, 8080), timeout=2)
        c.close()
        r = "OK"
    except OSError as e:
        r = err(e) if e.errno else "TIMEOUT"
    print("CONNECT", r)


def main():
    a = sys.argv[1:]
    ops = {
        "protocols": (3, lambda: protocols(a[1], a[2], a[3])),
        "gso": (4, lambda: gso(a[1], int(a[2]), a[3], a[4])),
        "peer-sendto": (5, lambda: peer_sendto(a[1], int(a[2]), a[3], int(a[4]), a[5])),
        "urgent": (4, lambda: urgent(a[1], int(a[2]), a[3], a[4] == "1")),
        "dstopts": (3, lambda: dstopts(a[1], int(a[2]), a[3])),
        "extra": (4, lambda: extra(a[1], int(a[2]), a[3], a[4])),
        "exfil": (4, lambda: exfil(a[1], int(a[2]), a[3], float(a[4]))),
        "sink": (2, lambda: sink(a[1], int(a[2]))),
        "split-server": (2, lambda: split_server(a[1], int(a[2]))),
        "split-client": (4, lambda: split_client(a[1], int(a[2]), a[3], a[4])),
    }
    if not a or a[0] not in ops or len(a) != ops[a[0]][0] + 1:
        sys.exit(__doc__)
    ops[a[0]][1]()


if __name__ == "__main__":
    main()
