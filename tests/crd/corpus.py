# SPDX-License-Identifier: MIT
"""The policy corpus the CRD schemas and `mcpfence policy check` are held to (tests/crd/check.py).
Each case is a policy spec, its kind, and what both must say: ok, or refused. NODE_ONLY lists
what the schema cannot judge and the agent refuses on the node."""

EGRESS = [{"to": ["192.0.2.0/24", "api.example.com"], "ports": ["443", 8443, "9000-9010"], "protocol": "tcp"}]

AGREE = {
    "ok": [
        ("EgressPolicy", {"egress": EGRESS}),
        ("EgressPolicy", {"mode": "audit", "egress": [{"to": ["*.githubusercontent.com"]}]}),
        ("EgressPolicy", {"egress": []}),
        ("EgressPolicy", {"identity": {"issuer": "https://kubernetes.default.svc", "audience": "mcpfence",
                                       "claims": {"kubernetes.io.serviceaccount.name": "api",
                                                  "kubernetes.io.pod.name": {"glob": "api-*"}}},
                          "egress": EGRESS}),
        ("EgressPolicy", {"egress": EGRESS, "credentials": [
            {"audience": "https://api.example.com", "lifetime": "5m", "claims": ["sub"]},
            {"audience": "api://x", "hosts": ["api.example.com:443"],
             "exchange": {"token_endpoint": "https://sts.example.com/token", "form": "client-assertion",
                          "client_id": "c"}}]}),
        ("ClusterEgressPolicy", {"namespaces": ["team-a", "team-b"], "egress": EGRESS}),
        ("ClusterEgressPolicy", {"namespaces": ["*"], "egress": []}),
    ],
    "refused": [
        ("EgressPolicy", {}),                                              # no egress
        ("EgressPolicy", {"mode": "block", "egress": []}),
        ("EgressPolicy", {"egress": [{"ports": ["443"]}]}),                # no to
        ("EgressPolicy", {"egress": [{"to": []}]}),
        ("EgressPolicy", {"egress": [{"to": ["192.0.2.1"], "protocol": "icmp"}]}),
        ("EgressPolicy", {"egress": [{"to": ["192.0.2.1"], "ports": ["http"]}]}),
        ("EgressPolicy", {"egress": [{"to": ["192.0.2.1"], "ports": [70000]}]}),
        ("EgressPolicy", {"egress": [{"to": ["192.0.2.1"], "ports": []}]}),
        ("EgressPolicy", {"egress": [{"to": ["192.0.2.1"], "port": "443"}]}),  # unknown field
        ("EgressPolicy", {"egress": [], "ingress": []}),
        ("EgressPolicy", {"identity": {"audience": "mcpfence"}, "egress": []}),  # no issuer
        ("EgressPolicy", {"identity": {"issuer": "https://i", "subjects": "x"}, "egress": []}),
        ("EgressPolicy", {"egress": EGRESS, "credentials": [{"lifetime": "5m"}]}),  # no audience
        ("EgressPolicy", {"egress": EGRESS, "credentials": [{"audience": "https://api.example.com",
                                                             "lifetime": "ten"}]}),
        ("EgressPolicy", {"egress": EGRESS, "credentials": [{"audience": "api://x", "hosts": ["api.example.com:443"],
                                                             "exchange": {"form": "token-exchange"}}]}),
        ("EgressPolicy", {"egress": EGRESS, "credentials": [{"audience": "api://x", "hosts": ["api.example.com:443"],
                                                             "exchange": {"token_endpoint": "http://sts"}}]}),
        ("EgressPolicy", {"namespaces": ["team-a"], "egress": []}),       # only a cluster policy lists them
        ("ClusterEgressPolicy", {"egress": []}),                          # no namespaces
        ("ClusterEgressPolicy", {"namespaces": [], "egress": []}),
        ("ClusterEgressPolicy", {"namespaces": ["Team_A"], "egress": []}),
    ],
}

# The schema accepts these; the agent refuses them on the node, naming file and path.
NODE_ONLY = [
    ("EgressPolicy", {"egress": [{"to": ["10.0.0.1/8"]}]}),                      # host bits
    ("EgressPolicy", {"egress": [{"to": ["192.0.2.1"], "ports": ["9000-8000"]}]}),  # range out of order
    ("EgressPolicy", {"egress": EGRESS, "credentials": [{"audience": "https://elsewhere.example.com"}]}),
    ("EgressPolicy", {"identity": {"issuer": "https://i", "subject": {"regex": "x"}}, "egress": []}),
    ("EgressPolicy", {"identity": {"issuer": "https://token.actions.githubusercontent.com"}, "egress": []}),
]
