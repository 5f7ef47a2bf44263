#!/bin/bash
# k3s agent bootstrap for cluster {{ CLUSTER_NAME }}, rendered from templates/agent.sh by modules/compute.
set -Eeuo pipefail

REGION="{{ REGION }}"
K3S_VERSION="{{ K3S_VERSION }}"
TOKEN_SECRET_ARN="{{ AGENT_TOKEN_SECRET_ARN }}"
API_ENDPOINT="{{ API_ENDPOINT }}"

{{ LIB }}

log "== capacity type"
# "spot" or "on-demand"; the label lets workloads choose, and the drain Lambda's events concern spot nodes.
CAPACITY_TYPE=$(retry 10 imds instance-life-cycle)
if [ "$CAPACITY_TYPE" != "spot" ]; then CAPACITY_TYPE=on-demand; fi

log "== k3s configuration"
cat >/etc/rancher/k3s/config.yaml <<YAML
server: "$API_ENDPOINT"
token: "$K3S_TOKEN"
node-name: "$NODE_NAME"
node-label:
  - node.kubernetes.io/capacity-type=$CAPACITY_TYPE
kubelet-arg:
  - cloud-provider=external
  - provider-id=$PROVIDER_ID
YAML

log "== wait for the API at $API_ENDPOINT"
api_reachable() { curl -sk --max-time 5 "$API_ENDPOINT/ping" | grep -q pong; }
retry 40 api_reachable

log "== install k3s $K3S_VERSION"
install_k3s agent

log "== done: agent $NODE_NAME ($CAPACITY_TYPE) started"
