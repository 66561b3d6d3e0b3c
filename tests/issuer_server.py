# SPDX-License-Identifier: MIT
"""A local HTTPS OIDC issuer for the tests (usage: DIR CERT KEY; prints "READY PORT"): serves DIR/openid-configuration and DIR/jwks.json,
answers 500 while DIR/fail exists, sends Cache-Control max-age from DIR/max-age, and appends
every request path to DIR/hits.log. Loopback only; stops by itself after 300 s."""
import http.server
import os
import sys

import httpsd

directory, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        with open(os.path.join(directory, "hits.log"), "a") as f:
            f.write(self.path + "\n")
        files = {"/.well-known/openid-configuration": "openid-configuration", "/jwks.json": "jwks.json",
                 "/big.json": "big.json"}
        name = files.get(self.path)
        if os.path.exists(os.path.join(directory, "fail")) or not name:
            self.send_response(500 if name else 404)
            self.end_headers()
            return
        with open(os.path.join(directory, name), "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        max_age = os.path.join(directory, "max-age")
        if os.path.exists(max_age):
            self.send_header("Cache-Control", "public, max-age=" + open(max_age).read().strip())
        self.end_headers()
        self.wfile.write(body)


httpsd.serve(Handler, "127.0.0.1", 0, cert, key, threaded=True, lifetime=300)  # any free port
