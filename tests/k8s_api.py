#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A stand-in for the Kubernetes API server, for the agent's pod list/watch client: HTTPS,
# bearer tokens, GET /api/v1/pods with a spec.nodeName field selector, as a PodList or, with
# watch=1, a stream of watch events (one JSON object per line) from a resourceVersion, with
# BOOKMARK events when allowWatchBookmarks is set, and an ERROR event with code 410 (Gone) for
# a resourceVersion older than the history it keeps: the real API's formats. A real API server
# cannot be installed on the machines that run the tests.
# It serves mcpfence's policy resources the same way (GET /apis/mcpfence.io/v1/egresspolicies
# and /clusteregresspolicies, every namespace), and takes Events (POST
# /api/v1/namespaces/NS/events), as the API server does for what `kubectl describe` shows.
# The test drives it: POST /test/pod (add or change a pod), /test/object ({"resource": PLURAL,
# "object": ..}: add or change a policy), /test/delete ({"uid": ..}), GET /test/events,
# /test/close (end every watch),
# /test/compact (forget the history: resumed watches get 410), GET /test/log (the requests).
# Usage: k8s_api.py PORT CERT KEY TOKEN_FILE
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlparse, parse_qs

import httpsd

PORT, CERT, KEY, TOKEN_FILE = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
lock = threading.Condition()
state = {"rv": 100, "oldest": 0, "objects": {}, "events": [], "generation": 0, "log": [], "k8s_events": []}
RESOURCES = {"/api/v1/pods": ("pods", "PodList"),
             "/apis/mcpfence.io/v1/egresspolicies": ("egresspolicies", "EgressPolicyList"),
             "/apis/mcpfence.io/v1/clusteregresspolicies": ("clusteregresspolicies", "ClusterEgressPolicyList")}


def node_of(pod):
    return pod.get("spec", {}).get("nodeName")


def selected(resource, obj, node):
    """An object of this resource, on this node for pods."""
    return obj[0] == resource and (resource != "pods" or node_of(obj[1]) == node)


def put(resource, obj):
    state["rv"] += 1
    obj["metadata"]["resourceVersion"] = str(state["rv"])
    uid = obj["metadata"]["uid"]
    kind = "MODIFIED" if uid in state["objects"] else "ADDED"
    state["objects"][uid] = (resource, obj)
    state["events"].append((state["rv"], kind, (resource, obj)))


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # a watch is the body until the connection closes

    def log_message(self, *a):
        pass

    def reply(self, code, doc):
        httpsd.reply(self, code, doc)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)) or 0)
        if self.path.startswith("/api/v1/namespaces/") and self.path.endswith("/events"):
            authed = self.headers.get("Authorization") == "Bearer " + open(TOKEN_FILE).read().strip()
            ev = json.loads(body)
            with lock:
                state["log"].append({"path": self.path, "method": "POST", "authorized": authed})
                if authed and ev.get("kind") == "Event":
                    state["k8s_events"].append({"namespace": self.path.split("/")[4], "event": ev})
            return self.reply(201 if authed else 401, ev)
        with lock:
            if self.path == "/test/pod":
                put("pods", json.loads(body))
            elif self.path == "/test/object":
                doc = json.loads(body)
                put(doc["resource"], doc["object"])
            elif self.path == "/test/delete":
                obj = state["objects"].pop(json.loads(body)["uid"])
                state["rv"] += 1
                state["events"].append((state["rv"], "DELETED", obj))
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
        if u.path == "/test/events":
            with lock:
                return self.reply(200, state["k8s_events"])
        with lock:
            state["log"].append({"path": u.path, "query": q, "authorized": authed})
        if not authed:
            return self.reply(401, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 401,
                                    "reason": "Unauthorized", "message": "Unauthorized"})
        if u.path not in RESOURCES:
            return self.reply(404, {"kind": "Status", "code": 404})
        resource, list_kind = RESOURCES[u.path]
        node = q.get("fieldSelector", "").removeprefix("spec.nodeName=")
        if q.get("watch") not in ("1", "true"):
            with lock:
                items = [o[1] for o in state["objects"].values() if selected(resource, o, node)]
                return self.reply(200, {"kind": list_kind, "apiVersion": "v1",
                                        "metadata": {"resourceVersion": str(state["rv"])}, "items": items})
        self.watch(resource, node, int(q.get("resourceVersion", "0")), q.get("allowWatchBookmarks") == "true",
                   int(q.get("timeoutSeconds", "300")))

    def send_event(self, doc):
        self.wfile.write((json.dumps(doc) + "\n").encode())
        self.wfile.flush()

    def watch(self, resource, node, since, bookmarks, timeout):
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
                for rv, kind, obj in todo:
                    if selected(resource, obj, node):
                        self.send_event({"type": kind, "object": obj[1]})
                    sent = rv
                if bookmarks and time.time() - last_bookmark >= 1:
                    sent = max(sent, rv_now)
                    self.send_event({"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1",
                                                                    "metadata": {"resourceVersion": str(sent)}}})
                    last_bookmark = time.time()
            except (BrokenPipeError, ConnectionResetError):
                return


httpsd.serve(Api, "127.0.0.1", PORT, CERT, KEY, threaded=True)
