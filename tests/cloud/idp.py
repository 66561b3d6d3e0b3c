# SPDX-License-Identifier: MIT
"""The cloud providers' key servers, stand-ins with their real layout (usage: DIR ADDR CERT KEY):
serves DIR/<Host header>/<path> over HTTPS on ADDR:443 with one certificate for every provider
host, so that login.microsoftonline.com, accounts.google.com, www.googleapis.com and an AWS
account's issuer host, pointed at ADDR by the suite's hosts file, answer at their own paths.
Every request is appended to DIR/hits.log as "HOST PATH". Stops by itself after 600 s."""
import http.server
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import httpsd  # noqa: E402

root, addr, cert, key = sys.argv[1:5]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        with open(os.path.join(root, "hits.log"), "a") as f:
            f.write("%s %s\n" % (host, self.path))
        path = os.path.normpath(os.path.join(root, host, self.path.lstrip("/")))
        if not path.startswith(os.path.join(root, host) + "/") or not os.path.isfile(path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with open(path, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "public, max-age=3600")
        self.end_headers()
        self.wfile.write(body)


httpsd.serve(Handler, addr, 443, cert, key, threaded=True, lifetime=600)
