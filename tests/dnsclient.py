#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""DNS clients and a hostile DNS server for the names suite (tests/integration/70-names.sh).

  dnsclient.py resolve-connect NAME PORT     getaddrinfo (glibc), then connect to the first
                                             address: OK ADDR | EPERM ADDR | REFUSED ADDR |
                                             NORESOLVE ERR
  dnsclient.py connect ADDR PORT             OK | EPERM | REFUSED
  dnsclient.py hold NAME PORT SECONDS        resolve, connect and keep it; after SECONDS send on
                                             it and open a new connection: "HELD x NEW y"
  dnsclient.py query SERVER PORT NAME        one A query over UDP from a connected socket; prints
                                             the answers, or EPERM / TIMEOUT
  dnsclient.py forge RESOLVER PORT NAME ADDR the workload's own forged reply: query NAME from
                                             socket A, then send A a reply teaching ADDR from a
                                             socket bound to RESOLVER:PORT. Prints the forger's
                                             send result, then "CONNECT x" to ADDR:8080
  dnsclient.py echo-server PORT             TCP echo on every address (IPv4 and IPv6) of PORT
  dnsclient.py query-times SERVER PORT NAME N   N A queries (EDNS0, 4 KiB), one at a time on one UDP
                                             connected socket: each round trip in ns, one a line
  dnsclient.py fake-server ADDR PORT         a resolver that lies: for right.x it answers
                                             127.0.40.1, for txid.x with the wrong transaction
                                             id (127.0.40.2), for question.x about another name
                                             (127.0.40.3), for twice.x twice (127.0.40.4 then a
                                             second reply teaching 127.0.40.5), for extra.x
                                             127.0.40.6 with 127.0.40.8 in the authority and
                                             127.0.40.7 in the additional section, both owned
                                             by the question, for offchain.x 127.0.40.10 and
                                             127.0.40.9 owned by another name
"""
import errno
import random
import socket
import struct
import sys
import time


def conn(addr, port, family=None):
    family = family or (socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((addr, port))
        return "OK", s
    except PermissionError:
        s.close()
        return "EPERM", None
    except ConnectionRefusedError:
        s.close()
        return "REFUSED", None
    except OSError as e:
        s.close()
        return errno.errorcode.get(e.errno, str(e)), None


def resolve(name, port):
    infos = socket.getaddrinfo(name, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    return infos[0][4][0], infos[0][0]


def wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query_msg(txid, name, qtype=1, edns=False):
    """edns: an OPT record offering 4096-byte replies (RFC 6891)."""
    msg = struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 1 if edns else 0) + wire(name) + struct.pack("!HH", qtype, 1)
    return msg + (b"\0" + struct.pack("!HHIH", 41, 4096, 0, 0) if edns else b"")


def a_record(owner, addr, ttl=60):
    """owner None: a pointer to the question's name."""
    name = struct.pack("!H", 0xC00C) if owner is None else wire(owner)
    return name + struct.pack("!HHIH", 1, 1, ttl, 4) + socket.inet_aton(addr)


def reply_msg(txid, qname, answers, ttl=60, authority=(), additional=()):
    """answers: IPv4 strings owned by the question, or (owner, address) pairs; authority and
    additional: (owner, address) pairs."""
    msg = struct.pack("!HHHHHH", txid, 0x8400, 1, len(answers), len(authority), len(additional))
    msg += wire(qname) + struct.pack("!HH", 1, 1)
    for a in answers:
        msg += a_record(None, a, ttl) if isinstance(a, str) else a_record(a[0], a[1], ttl)
    for owner, a in list(authority) + list(additional):
        msg += a_record(owner, a, ttl)
    return msg


def parse_answers(msg):
    txid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    off = 12
    while msg[off]:
        off += msg[off] + 1
    off += 5
    out = []
    for _ in range(an):
        if msg[off] & 0xC0 == 0xC0:
            off += 2
        else:
            while msg[off]:
                off += msg[off] + 1
            off += 1
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        if rtype == 1:
            out.append(socket.inet_ntoa(msg[off:off + 4]))
        off += rdlen
    return out


def main():
    op = sys.argv[1]
    if op == "resolve-connect":
        try:
            addr, fam = resolve(sys.argv[2], int(sys.argv[3]))
        except socket.gaierror as e:
            print("NORESOLVE", e.args[0])
            return
        r, s = conn(addr, int(sys.argv[3]), fam)
        print(r, addr)
    elif op == "connect":
        print(conn(sys.argv[2], int(sys.argv[3]))[0])
    elif op == "hold":
        addr, fam = resolve(sys.argv[2], int(sys.argv[3]))
        r, held = conn(addr, int(sys.argv[3]), fam)
        if r != "OK":
            print("HELD", r, "NEW -")
            return
        time.sleep(float(sys.argv[4]))
        try:
            held.sendall(b"still here\n")
            held.settimeout(3)
            got = held.recv(64)  # the echo listener answers
            h = "OK" if got else "CLOSED"
        except OSError as e:
            h = errno.errorcode.get(e.errno, str(e))
        print("HELD", h, "NEW", conn(addr, int(sys.argv[3]), fam)[0])
    elif op == "query":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        try:
            s.connect((sys.argv[2], int(sys.argv[3])))
            s.send(query_msg(random.randint(0, 65535), sys.argv[4]))
            print(" ".join(parse_answers(s.recv(4096))) or "EMPTY")
        except PermissionError:
            print("EPERM")
        except socket.timeout:
            print("TIMEOUT")
    elif op == "query-times":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        s.connect((sys.argv[2], int(sys.argv[3])))
        q = query_msg(1, sys.argv[4], edns=True)
        out = []
        lost = 0
        for i in range(int(sys.argv[5])):
            q = struct.pack("!H", i & 0xFFFF) + q[2:]
            t0 = time.perf_counter_ns()
            s.send(q)
            try:
                s.recv(65535)
            except socket.timeout:  # a lost datagram: not a round trip, counted on stderr
                lost += 1
                continue
            out.append(time.perf_counter_ns() - t0)
        print("\n".join(map(str, out)))
        if lost:
            print("query-times: %d of %s queries got no reply" % (lost, sys.argv[5]), file=sys.stderr)
    elif op == "forge":
        resolver, port, name, addr = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a.bind(("127.0.0.1", 0))
        a.settimeout(1)
        txid = 4242
        a.sendto(query_msg(txid, name), (resolver, port))
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        b.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND
        b.bind((resolver, port))
        try:
            b.sendto(reply_msg(txid, name, [addr]), a.getsockname())
            print("FORGER SENT")
        except PermissionError:
            print("FORGER EPERM")
        try:
            a.recv(4096)
        except socket.timeout:
            pass
        print("CONNECT", conn(addr, 8080)[0])
    elif op == "echo-server":
        import threading

        srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        srv.bind(("::", int(sys.argv[2])))
        srv.listen(128)
        print("READY", flush=True)

        def echo(c):
            with c:
                while True:
                    d = c.recv(4096)
                    if not d:
                        return
                    c.sendall(d)

        while True:
            c, _ = srv.accept()
            threading.Thread(target=echo, args=(c,), daemon=True).start()
    elif op == "fake-server":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((sys.argv[2], int(sys.argv[3])))
        print("READY", flush=True)
        while True:
            msg, peer = s.recvfrom(4096)
            txid = struct.unpack("!H", msg[:2])[0]
            off, labels = 12, []
            while msg[off]:
                labels.append(msg[off + 1:off + 1 + msg[off]].decode())
                off += msg[off] + 1
            qname = ".".join(labels)
            first = labels[0] if labels else ""
            if first == "right":
                s.sendto(reply_msg(txid, qname, ["127.0.40.1"]), peer)
            elif first == "txid":
                s.sendto(reply_msg(txid ^ 1, qname, ["127.0.40.2"]), peer)
            elif first == "question":
                s.sendto(reply_msg(txid, "other." + qname, ["127.0.40.3"]), peer)
            elif first == "extra":
                s.sendto(reply_msg(txid, qname, ["127.0.40.6"], authority=[(qname, "127.0.40.8")],
                                   additional=[(qname, "127.0.40.7")]), peer)
            elif first == "offchain":
                s.sendto(reply_msg(txid, qname, [("elsewhere.x", "127.0.40.9"), "127.0.40.10"]), peer)
            elif first == "twice":
                s.sendto(reply_msg(txid, qname, ["127.0.40.4"]), peer)
                s.sendto(reply_msg(txid, qname, ["127.0.40.5"]), peer)


if __name__ == "__main__":
    main()
