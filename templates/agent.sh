#!/bin/bash
# k3s agent bootstrap for cluster {{ CLUSTER_NAME }}, rendered from templates/agent.sh by modules/compute.
set -Eeuo pipefail

REGION="{{ REGION }}"
K3S_VERSION="{{ K3S_VERSION }}"
AGENT_TOKEN_SECRET_ARN="{{ AGENT_TOKEN_SECRET_ARN }}"
API_ENDPOINT="{{ API_ENDPOINT }}"

{{ LIB }}

log "== agent token"
# Agents hold only the join-only agent token, never the server token (k3s docs/cli/token.md).
K3S_AGENT_TOKEN=$(retry 10 secret_value "$AGENT_TOKEN_SECRET_ARN")

log "== capacity type"
# "spot" or "on-demand"; the label lets workloads choose, and the drain Lambda's events concern spot nodes.
CAPACITY_TYPE=$(retry 10 imds instance-life-cycle)
if [ "$CAPACITY_TYPE" != "spot" ]; then CAPACITY_TYPE=on-demand; fi

log "== k3s configuration"
cat >/etc/rancher/k3s/config.yaml <<YAML
server: $(yaml_quote "$API_ENDPOINT")
token: $(yaml_quote "$K3S_AGENT_TOKEN")
node-name: $(yaml_quote "$NODE_NAME")
node-label:
  - {{ CAPACITY_TYPE_LABEL }}=$CAPACITY_TYPE
kubelet-arg:
  - cloud-provider=external
  - provider-id=$PROVIDER_ID
YAML

log "== wait for the API at $API_ENDPOINT"
# Agents launch once the server group exists, while its servers bootstrap: 55 attempts with retry's backoff wait about
# 50 minutes, inside the launch hook's hour. k3s's supervisor answers /ping before any credential is presented.
api_reachable() { [ "$(curl -sk --max-time 5 "$API_ENDPOINT/ping")" = pong ]; }
retry 55 api_reachable

log "== install k3s $K3S_VERSION"
install_k3s agent k3s-agent

log "== wait for the kubelet"
# k3s starts the kubelet only once a server has accepted the agent token; until then it retries for ever
# (k3s pkg/agent/config Get), so a refused token would leave an idle node that looks healthy to its group.
kubelet_healthy() { [ "$(curl -s --max-time 5 http://127.0.0.1:10248/healthz)" = ok ]; }
retry 15 kubelet_healthy

log "== in service"
retry 10 complete_bootstrap CONTINUE

log "== done: agent $NODE_NAME ($CAPACITY_TYPE) joined"
