#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A security token service stand-in, independent of mcpfence's code: HTTPS POST /token, the
two forms a cloud STS takes a workload JWT in, checked with PyJWT against the issuer published
in DIR (discovery document and key set, as `mcpfence issuer export` wrote them).

  RFC 8693:  grant_type=urn:ietf:params:oauth:grant-type:token-exchange, subject_token=JWT,
             subject_token_type=urn:ietf:params:oauth:token-type:jwt, audience=AUDIENCE, scope
  RFC 7523:  grant_type=client_credentials, client_id=CLIENT_ID, client_assertion=JWT,
             client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer, scope

The JWT's aud must be one of SUBJECT_AUD (comma-separated). Success: {"access_token": "sts-...", "issued_token_type",
"token_type": "Bearer", "expires_in": 300}; errors as RFC 6749 JSON with status 400.

  sts.py ADDR PORT DIR SUBJECT_AUD AUDIENCE CLIENT_ID CERT KEY    prints READY once listening
"""
import http.server
import json
import secrets
import sys
import urllib.parse

import jwt

import httpsd

addr, port, base, subject_aud, audience, client_id, cert, key = sys.argv[1:9]
TE = "urn:ietf:params:oauth:grant-type:token-exchange"


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, status, doc):
        httpsd.reply(self, status, doc)

    def error(self, code, desc):
        self.reply(400, {"error": code, "error_description": desc})

    def verify(self, token):
        conf = json.load(open(base + "/.well-known/openid-configuration"))
        keys = {k["kid"]: k for k in json.load(open(base + "/.well-known/jwks.json"))["keys"]}
        k = keys[jwt.get_unverified_header(token)["kid"]]
        return jwt.decode(token, jwt.PyJWK.from_dict(k).key, algorithms=["ES256"], audience=subject_aud.split(","),
                          issuer=conf["issuer"])

    def do_POST(self):
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        one = lambda n: form.get(n, [None])[0]
        grant = one("grant_type")
        if grant == TE:
            if one("subject_token_type") != "urn:ietf:params:oauth:token-type:jwt" or not one("subject_token"):
                return self.error("invalid_request", "subject_token and its type are required")
            if one("audience") != audience:
                return self.error("invalid_target", "unknown audience %s" % one("audience"))
            token = one("subject_token")
        elif grant == "client_credentials":
            if one("client_id") != client_id:
                return self.error("invalid_client", "unknown client")
            if one("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                return self.error("invalid_request", "a jwt-bearer client assertion is required")
            token = one("client_assertion")
        else:
            return self.error("unsupported_grant_type", "grant %s" % grant)
        try:
            claims = self.verify(token)
        except (KeyError, jwt.PyJWTError) as e:
            return self.error("invalid_grant", "subject token refused: %s" % type(e).__name__)
        self.reply(200, {"access_token": "sts-" + secrets.token_urlsafe(24), "token_type": "Bearer",
                         "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                         "expires_in": 300, "scope": one("scope") or "", "sub": claims["sub"]})

    def log_message(self, *args):
        pass


httpsd.serve(Handler, addr, int(port), cert, key)
