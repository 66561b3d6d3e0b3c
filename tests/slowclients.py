#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Clients of the agent's sockets, for the containment suite.

  slowclients.py storm SOCK N SECONDS      N clients: half silent, half sending a byte every
                                           0.25 s; prints "accepted=A refused=R dropped=D"
                                           (dropped: the agent closed the connection on us),
                                           after a line "CONNECTED" once they all are
  slowclients.py time SOCK LINE            one request; prints "MS REPLY" (milliseconds to the
                                           reply, measured around connect-send-receive)
"""
import socket
import sys
import time


def storm(path, n, seconds):
    conns = []
    refused = 0
    for i in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
        except OSError:
            refused += 1
            continue
        s.setblocking(False)
        conns.append((s, i % 2 == 1))
    # a refused client gets one error line and EOF at once; an accepted one hears nothing
    time.sleep(0.2)
    accepted = []
    for s, trickle in conns:
        try:
            data = s.recv(4096)
            if data is not None:
                refused += 1
                s.close()
                continue
        except BlockingIOError:
            pass
        accepted.append((s, trickle))
    print("CONNECTED", flush=True)
    dropped = 0
    end = time.monotonic() + seconds
    alive = list(accepted)
    while time.monotonic() < end and alive:
        still = []
        for s, trickle in alive:
            try:
                if trickle:
                    s.send(b"{")
                if s.recv(4096) == b"":
                    dropped += 1
                    s.close()
                    continue
            except BlockingIOError:
                pass
            except OSError:
                dropped += 1
                s.close()
                continue
            still.append((s, trickle))
        alive = still
        time.sleep(0.25)
    print(f"accepted={len(accepted)} refused={refused} dropped={dropped}")


def timed(path, line):
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(line.encode() + b"\n")
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        reply += chunk
    ms = (time.monotonic() - t0) * 1000
    print(f"{ms:.2f} {reply.decode().strip()}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "storm":
        storm(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif len(sys.argv) == 4 and sys.argv[1] == "time":
        timed(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
