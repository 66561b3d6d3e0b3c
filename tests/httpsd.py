# SPDX-License-Identifier: MIT
"""The HTTPS side of the test servers (STS, downstream, Kubernetes API, key server): one
handler served over TLS, "READY" (with the port when it was chosen here) printed once listening."""
import http.server
import json
import ssl
import threading


def reply(handler, status, doc):
    """A JSON reply with its length, for the handlers of the test servers."""
    body = json.dumps(doc).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def serve(handler, addr, port, cert, key, threaded=False, lifetime=None):
    cls = http.server.ThreadingHTTPServer if threaded else http.server.HTTPServer
    srv = cls((addr, port), handler)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if lifetime:  # a server nobody stopped goes away by itself
        threading.Timer(lifetime, srv.shutdown).start()
    print("READY" if port else "READY %d" % srv.server_address[1], flush=True)
    srv.serve_forever()
