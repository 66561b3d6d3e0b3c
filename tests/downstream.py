#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A downstream API stand-in, independent of mcpfence's code: HTTPS on ADDR:PORT, answering
200 to a request whose bearer token PyJWT accepts for AUDIENCE against the issuer published in
DIR (discovery document and key set, as `mcpfence issuer export` wrote them), 401 otherwise.

  downstream.py ADDR PORT AUDIENCE DIR CERT KEY     prints READY once listening
"""
import http.server
import json
import sys

import jwt

import httpsd

addr, port, audience, base, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        conf = json.load(open(base + "/.well-known/openid-configuration"))
        keys = {k["kid"]: k for k in json.load(open(base + "/.well-known/jwks.json"))["keys"]}
        auth = self.headers.get("Authorization", "")
        status, body = 401, "no bearer token"
        if auth.startswith("Bearer "):
            token = auth[7:]
            try:
                k = keys[jwt.get_unverified_header(token)["kid"]]
                claims = jwt.decode(token, jwt.PyJWK.from_dict(k).key, algorithms=["ES256"],
                                    audience=audience, issuer=conf["issuer"])
                status, body = 200, "hello %s" % claims["sub"]
            except (KeyError, jwt.PyJWTError) as e:
                body = "refused: %s" % type(e).__name__
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write((body + "\n").encode())

    def log_message(self, *args):
        pass


httpsd.serve(Handler, addr, port, cert, key)
