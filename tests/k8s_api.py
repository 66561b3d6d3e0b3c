#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A stand-in for the Kubernetes API server, for the agent's pod list/watch client: HTTPS,
# bearer tokens, GET /api/v1/pods with a spec.nodeName field selector, as a PodList or, with
# watch=1, a stream of watch events (one JSON object per line) from a resourceVersion, with
# BOOKMARK events when allowWatchBookmarks is set, and an ERROR event with code 410 (Gone) for
# a resourceVersion older than the history it keeps: the real API's formats. A real API server
# cannot be installed on the machines that run the tests.
# The test drives it: POST /test/pod (add or change a pod), /test/delete ({"uid": ..}),
# /test/close (end every watch),
# /test/compact (forget the history: resumed watches get 410), GET /test/log (the requests).
# Usage: k8s_api.py PORT CERT KEY TOKEN_FILE
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlparse, parse_qs

import httpsd

PORT, CERT, KEY, TOKEN_FILE = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
lock = threading.Condition()
state = {"rv": 100, "oldest": 0, "pods": {}, "events": [], "generation": 0, "log": []}


def node_of(pod):
    return pod.get("spec", {}).get("nodeName")


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # a watch is the body until the connection closes

    def log_message(self, *a):
        pass

    def reply(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)) or 0)
        with lock:
            if self.path == "/test/pod":
                pod = json.loads(body)
                state["rv"] += 1
                pod["metadata"]["resourceVersion"] = str(state["rv"])
                kind = "MODIFIED" if pod["metadata"]["uid"] in state["pods"] else "ADDED"
                state["pods"][pod["metadata"]["uid"]] = pod
                state["events"].append((state["rv"], kind, pod))
            elif self.path == "/test/delete":
                pod = state["pods"].pop(json.loads(body)["uid"])
                state["rv"] += 1
                state["events"].append((state["rv"], "DELETED", pod))
            elif self.path == "/test/close":
                state["generation"] += 1
            elif self.path == "/test/compact":
                state["oldest"] = state["rv"] + 1
                state["events"] = []
                state["generation"] += 1
            lock.notify_all()
        self.reply(200, {"ok": True})

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        token = open(TOKEN_FILE).read().strip()
        authed = self.headers.get("Authorization") == "Bearer " + token
        if u.path == "/test/log":
            with lock:
                return self.reply(200, state["log"])
        with lock:
            state["log"].append({"path": u.path, "query": q, "authorized": authed})
        if not authed:
            return self.reply(401, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 401,
                                    "reason": "Unauthorized", "message": "Unauthorized"})
        if u.path != "/api/v1/pods":
            return self.reply(404, {"kind": "Status", "code": 404})
        node = q.get("fieldSelector", "").removeprefix("spec.nodeName=")
        if q.get("watch") not in ("1", "true"):
            with lock:
                items = [p for p in state["pods"].values() if node_of(p) == node]
                return self.reply(200, {"kind": "PodList", "apiVersion": "v1",
                                        "metadata": {"resourceVersion": str(state["rv"])}, "items": items})
        self.watch(node, int(q.get("resourceVersion", "0")), q.get("allowWatchBookmarks") == "true",
                   int(q.get("timeoutSeconds", "300")))

    def send_event(self, doc):
        self.wfile.write((json.dumps(doc) + "\n").encode())
        self.wfile.flush()

    def watch(self, node, since, bookmarks, timeout):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        end = time.time() + timeout
        with lock:
            gen = state["generation"]
            if since < state["oldest"]:
                return self.send_event({"type": "ERROR", "object": {
                    "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410, "reason": "Expired",
                    "message": f"too old resource version: {since} ({state['oldest']})"}})
        sent = since
        last_bookmark = time.time()
        while time.time() < end:
            with lock:
                if state["generation"] != gen:
                    return  # the connection ends: the client resumes
                todo = [(rv, k, p) for rv, k, p in state["events"] if rv > sent]
                rv_now = state["rv"]
                if not todo:
                    lock.wait(0.2)
            try:
                for rv, kind, pod in todo:
                    if node_of(pod) == node:
                        self.send_event({"type": kind, "object": pod})
                    sent = rv
                if bookmarks and time.time() - last_bookmark >= 1:
                    sent = max(sent, rv_now)
                    self.send_event({"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1",
                                                                    "metadata": {"resourceVersion": str(sent)}}})
                    last_bookmark = time.time()
            except (BrokenPipeError, ConnectionResetError):
                return


httpsd.serve(Api, "127.0.0.1", PORT, CERT, KEY, threaded=True)
