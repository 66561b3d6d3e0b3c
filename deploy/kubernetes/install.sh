#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One-command install on a cluster: kubectl context set, the image loaded on the nodes.
#   deploy/kubernetes/install.sh
# Publishes the cluster's service-account issuer keys (public) for the agent, then applies the
# manifests. Run it again after the cluster rotates its signing keys.
set -euo pipefail
cd "$(dirname "$0")"
kubectl apply -f namespace.yaml
kubectl get --raw /openid/v1/jwks >"${TMPDIR:-/tmp}/mcpfence-jwks.json"
kubectl -n mcpfence-system create configmap mcpfence-issuer-keys \
	--from-file=jwks.json="${TMPDIR:-/tmp}/mcpfence-jwks.json" --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -k .
kubectl -n mcpfence-system rollout status ds/mcpfence-agent --timeout=120s
