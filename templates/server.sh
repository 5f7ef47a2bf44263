#!/bin/bash
# k3s server bootstrap for cluster {{ CLUSTER_NAME }}, rendered from templates/server.sh by modules/compute.
set -Eeuo pipefail

REGION="{{ REGION }}"
K3S_VERSION="{{ K3S_VERSION }}"
TOKEN_SECRET_ARN="{{ TOKEN_SECRET_ARN }}"
AGENT_TOKEN_SECRET_ARN="{{ AGENT_TOKEN_SECRET_ARN }}"
RDS_CA_BUNDLE_URL="{{ RDS_CA_BUNDLE_URL }}"
DATASTORE_SECRET_ARN="{{ DATASTORE_SECRET_ARN }}"
KUBECONFIG_SECRET_ARN="{{ KUBECONFIG_SECRET_ARN }}"
LAMBDA_ACCESS_SECRET_ARN="{{ LAMBDA_ACCESS_SECRET_ARN }}"
API_ENDPOINT="{{ API_ENDPOINT }}"
KUBECONFIG_ENDPOINT="{{ KUBECONFIG_ENDPOINT }}"
ADMISSION_CONFIG_FILE="{{ ADMISSION_CONFIG_FILE }}"
AUDIT_POLICY_FILE="{{ AUDIT_POLICY_FILE }}"
AUDIT_LOG_DIRECTORY="{{ AUDIT_LOG_DIRECTORY }}"
SERVICE_ACCOUNT_ISSUER_URL="{{ SERVICE_ACCOUNT_ISSUER_URL }}"

{{ LIB }}

log "== cluster tokens"
# The server token joins servers and encrypts the bootstrap data; agents join with the agent token only.
K3S_TOKEN=$(retry 10 secret_value "$TOKEN_SECRET_ARN")
K3S_AGENT_TOKEN=$(retry 10 secret_value "$AGENT_TOKEN_SECRET_ARN")

log "== datastore"
# A new (Multi-AZ) instance takes tens of minutes to create: 60 attempts with retry's backoff wait about 55 minutes.
DATASTORE=$(retry 60 secret_value "$DATASTORE_SECRET_ARN")
DB_HOST=$(json_field {{ DATASTORE_KEY_HOST }} <<<"$DATASTORE")
DB_PORT=$(json_field {{ DATASTORE_KEY_PORT }} <<<"$DATASTORE")
# kine reads the endpoint as a URL, so user name and password are percent-encoded.
DATASTORE_ENDPOINT=$(python3 -c '
import json, sys
from urllib.parse import quote
db = json.load(sys.stdin)
user, password = quote(db["{{ DATASTORE_KEY_USERNAME }}"], safe=""), quote(db["{{ DATASTORE_KEY_PASSWORD }}"], safe="")
print("postgres://%s:%s@%s:%s/%s" % (user, password, db["{{ DATASTORE_KEY_HOST }}"], db["{{ DATASTORE_KEY_PORT }}"], db["{{ DATASTORE_KEY_DBNAME }}"]))' <<<"$DATASTORE")
# tcp_open HOST PORT: whether HOST accepts connections on PORT, within 5 seconds.
# shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments.
tcp_open() { timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2"' tcp_open "$1" "$2" 2>/dev/null; }
log "waiting for the datastore at $DB_HOST:$DB_PORT"
retry 60 tcp_open "$DB_HOST" "$DB_PORT"
# With a CA file and no sslmode in the URL, kine verifies the server certificate (sslmode=verify-full).
retry 10 curl -sSfL --max-time 120 "$RDS_CA_BUNDLE_URL" -o /etc/rancher/k3s/rds-ca.pem

log "== k3s configuration"
# Credentials go in a root-only file, never on the command line where any process listing shows them. Every value
# is read above, where a failure stops the script; a failing $(...) inside a here-document would go unnoticed.
cat >/etc/rancher/k3s/config.yaml <<YAML
token: $(yaml_quote "$K3S_TOKEN")
agent-token: $(yaml_quote "$K3S_AGENT_TOKEN")
datastore-endpoint: $(yaml_quote "$DATASTORE_ENDPOINT")
datastore-cafile: /etc/rancher/k3s/rds-ca.pem
node-name: $(yaml_quote "$NODE_NAME")
tls-san:
{{ TLS_SANS }}
{{ SERVER_NODE_TAINTS }}
# Must be identical on every server.
disable-cloud-controller: true
disable:
  - servicelb
  # One default StorageClass (efs, or gp3 with block storage): a second would make claims without a class ambiguous.
  - local-storage
secrets-encryption: true
# k3s adds cloud-provider=external itself only while its own controller runs.
kubelet-arg:
  - cloud-provider=external
  - provider-id=$PROVIDER_ID
write-kubeconfig-mode: "0600"
# Pod Security Admission defaults and the audit log, from the files below (k3s docs, CIS Hardening Guide).
{{ KUBE_APISERVER_ARGS }}
YAML

log "== cluster policy"
# Read by kube-apiserver at start, so written before k3s is installed; root-only like everything here (umask 077).
mkdir -p "$(dirname "$ADMISSION_CONFIG_FILE")" "$(dirname "$AUDIT_POLICY_FILE")"
cat >"$ADMISSION_CONFIG_FILE" <<'YAML'
{{ POD_SECURITY_ADMISSION_CONFIG }}
YAML
cat >"$AUDIT_POLICY_FILE" <<'YAML'
{{ AUDIT_POLICY }}
YAML
# The audit log names every user and object: a directory only root can enter (k3s's hardening guide: mode 700).
mkdir -p "$AUDIT_LOG_DIRECTORY"
chmod 700 "$AUDIT_LOG_DIRECTORY"

log "== add-on manifests"
MANIFESTS=/var/lib/rancher/k3s/server/manifests
mkdir -p "$MANIFESTS"
cat >"$MANIFESTS/aws-cloud-controller-manager.yaml" <<'YAML'
{{ MANIFEST_CLOUD_CONTROLLER }}
YAML
cat >"$MANIFESTS/aws-efs-csi-driver.yaml" <<'YAML'
{{ MANIFEST_EFS_CSI }}
YAML
# Empty unless storage.blockStorage.enabled, and written either way, so turning it off uninstalls the chart.
cat >"$MANIFESTS/aws-ebs-csi-driver.yaml" <<'YAML'
{{ MANIFEST_EBS_CSI }}
YAML
cat >"$MANIFESTS/traefik-node-ports.yaml" <<'YAML'
{{ MANIFEST_TRAEFIK }}
YAML
# Empty unless behind CloudFront; written in every mode so leaving it deletes the Middleware. Until the traefik-crd
# chart is in, applying it fails and k3s retries every 15 s (pkg/deploy/controller.go); meanwhile web's routers, which
# name it, are refused by Traefik: closed, not serving with the header.
cat >"$MANIFESTS/traefik-origin-header.yaml" <<'YAML'
{{ MANIFEST_TRAEFIK_ORIGIN_HEADER }}
YAML
cat >"$MANIFESTS/cluster-automation-rbac.yaml" <<'YAML'
{{ MANIFEST_AUTOMATION_RBAC }}
YAML
# Empty unless agents.scalingMode is "cluster-autoscaler". Written in every mode: k3s deletes what a manifest no longer
# holds (pkg/deploy/controller.go), so leaving that mode uninstalls the chart instead of orphaning it.
cat >"$MANIFESTS/cluster-autoscaler.yaml" <<'YAML'
{{ MANIFEST_CLUSTER_AUTOSCALER }}
YAML
# The add-ons (README, "Add-ons"): each empty unless enabled, and written either way, so turning one off uninstalls it.
cat >"$MANIFESTS/kube-prometheus-stack.yaml" <<'YAML'
{{ MANIFEST_MONITORING }}
YAML
cat >"$MANIFESTS/grafana-dashboards.yaml" <<'YAML'
{{ MANIFEST_DASHBOARDS }}
YAML
cat >"$MANIFESTS/argo-cd.yaml" <<'YAML'
{{ MANIFEST_ARGO_CD }}
YAML
cat >"$MANIFESTS/jenkins.yaml" <<'YAML'
{{ MANIFEST_JENKINS }}
YAML

log "== install k3s $K3S_VERSION"
# Servers of a new cluster start together; k3s locks the bootstrap data, and a short jitter spreads the load.
sleep $((RANDOM % 20))
install_k3s server k3s

log "== wait for the API"
api_ready() { k3s kubectl get --raw /readyz --request-timeout=10s >/dev/null 2>&1; }
retry 30 api_ready

log "== publish kubeconfig"
KUBECONFIG_EXTERNAL=$(mktemp)
sed "s#https://127.0.0.1:{{ KUBE_API_PORT }}#$KUBECONFIG_ENDPOINT#" /etc/rancher/k3s/k3s.yaml >"$KUBECONFIG_EXTERNAL"
retry 5 aws secretsmanager put-secret-value --region "$REGION" --secret-id "$KUBECONFIG_SECRET_ARN" \
  --secret-string "file://$KUBECONFIG_EXTERNAL" >/dev/null
rm -f "$KUBECONFIG_EXTERNAL"

log "== publish the service-account issuer's documents"
# Empty unless pods assume IAM roles (modules/workload-identity). STS reads these through CloudFront to check the
# tokens the API server signs as that issuer; every server publishes the same documents, so any one's will do.
SERVICE_ACCOUNT_ISSUER_BUCKET="{{ SERVICE_ACCOUNT_ISSUER_BUCKET }}"
# publish_issuer_document PATH: the API server's document at /PATH, to the key PATH of the bucket. The discovery
# document must name the issuer this server was configured with, or STS would refuse every token.
publish_issuer_document() {
  local document status=0
  document=$(mktemp)
  k3s kubectl get --raw "/$1" --request-timeout=30s >"$document" &&
    python3 -c '
import json, sys
document = json.load(open(sys.argv[1]))
if sys.argv[2] == "{{ ISSUER_DISCOVERY_PATH }}" and document.get("issuer") != sys.argv[3]:
    sys.exit("the API server names the issuer %r, not %s" % (document.get("issuer"), sys.argv[3]))
if sys.argv[2] == "{{ ISSUER_KEYS_PATH }}" and not document.get("keys"):
    sys.exit("the API server serves no signing keys")' "$document" "$1" "$SERVICE_ACCOUNT_ISSUER_URL" &&
    aws s3api put-object --region "$REGION" --bucket "$SERVICE_ACCOUNT_ISSUER_BUCKET" --key "$1" --body "$document" \
      --content-type application/json >/dev/null || status=$?
  rm -f "$document"
  return "$status"
}
if [ -n "$SERVICE_ACCOUNT_ISSUER_BUCKET" ]; then
  retry 10 publish_issuer_document "{{ ISSUER_DISCOVERY_PATH }}"
  retry 10 publish_issuer_document "{{ ISSUER_KEYS_PATH }}"
fi

log "== publish automation credentials"
token_ready() { [ -n "$(k3s kubectl -n {{ AUTOMATION_TOKEN_SECRET_NAMESPACE }} get secret {{ AUTOMATION_TOKEN_SECRET_NAME }} -o jsonpath='{.data.token}' 2>/dev/null)" ]; }
retry 30 token_ready
# The service-account token Secret's data (ca.crt and token, base64) as the document the Lambdas read.
automation_access() {
  k3s kubectl -n {{ AUTOMATION_TOKEN_SECRET_NAMESPACE }} get secret {{ AUTOMATION_TOKEN_SECRET_NAME }} -o json |
    python3 -c '
import base64, json, sys
data = json.load(sys.stdin)["data"]
print(json.dumps({
    "{{ ACCESS_KEY_SERVER }}": sys.argv[1],
    "{{ ACCESS_KEY_CA_DATA }}": data["ca.crt"],
    "{{ ACCESS_KEY_TOKEN }}": base64.b64decode(data["token"]).decode(),
}))' "$API_ENDPOINT"
}
AUTOMATION_ACCESS=$(mktemp)
retry 5 automation_access >"$AUTOMATION_ACCESS"
retry 5 aws secretsmanager put-secret-value --region "$REGION" --secret-id "$LAMBDA_ACCESS_SECRET_ARN" \
  --secret-string "file://$AUTOMATION_ACCESS" >/dev/null
rm -f "$AUTOMATION_ACCESS"

log "== add-on admin secrets"
# One line per enabled add-on: "<secret ARN> <namespace> <pod security level> <Secret> <format>" (modules/compute/addons.ts).
ADDON_ADMIN_SECRETS="{{ ADDON_ADMIN_SECRETS }}"
# admin_secret ARN NAMESPACE LEVEL SECRET FORMAT: the add-on's namespace, labelled with its Pod Security level, and the
# Secret its chart names, built from the Secrets Manager document and applied from stdin: the password is never an
# argument (a process listing), a file or a log line. Server-side apply keeps it out of the last-applied annotation a
# client-side apply would copy it into, and --force-conflicts takes the fields back from anyone who changed them.
admin_secret() {
  local document
  document=$(secret_value "$1") || return
  python3 -c '
import base64, datetime, json, subprocess, sys
namespace, level, name, kind = sys.argv[1:]
spec = {{ ADMIN_SECRET_FORMATS }}[kind]
document = json.load(sys.stdin)
data = {key: document[field] for key, field in spec["data"]}
if "modifiedAt" in spec:
    # The time changes with the data only: a server that boots with the same hash keeps everyone signed in.
    current = subprocess.run(["k3s", "kubectl", "-n", namespace, "get", "secret", name, "-o", "json", "--ignore-not-found", "--request-timeout=30s"], capture_output=True, text=True)
    if current.returncode != 0:
        sys.exit("cannot read the current Secret %s/%s: %s" % (namespace, name, current.stderr.strip()))
    # Only the keys written here are compared and decoded; others (those argocd-server adds, TLS keys) may be any bytes.
    existing = (json.loads(current.stdout).get("data") or {}) if current.stdout.strip() else {}
    unchanged = all(base64.b64decode(existing.get(key, "")) == value.encode() for key, value in data.items())
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    kept = base64.b64decode(existing[spec["modifiedAt"]]).decode() if unchanged and spec["modifiedAt"] in existing else None
    data[spec["modifiedAt"]] = kept or now
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {"pod-security.kubernetes.io/enforce": level}}},
    {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": name, "namespace": namespace, "labels": spec["labels"]}, "stringData": data},
]}))' "$2" "$3" "$4" "$5" <<<"$document" | k3s kubectl apply --server-side --force-conflicts --field-manager=k3s-bootstrap --request-timeout=30s -f - >/dev/null
}
while read -r arn namespace level name format; do
  if [ -z "$arn" ]; then continue; fi
  log "admin secret $namespace/$name"
  retry 10 admin_secret "$arn" "$namespace" "$level" "$name" "$format"
done <<<"$ADDON_ADMIN_SECRETS"

log "== admin secrets of add-ons turned off"
# One line per add-on that is off: "<namespace> <label selector>". Only Secrets a server wrote carry the label, so a
# Secret of the same name that someone else keeps is left alone; the namespace stays (it may hold their data).
REMOVED_ADMIN_SECRETS="{{ REMOVED_ADMIN_SECRETS }}"
while read -r namespace selector; do
  if [ -z "$namespace" ]; then continue; fi
  # A Secret left behind is no reason to replace a working server: it is tried again at the next server's boot.
  if ! retry 10 k3s kubectl -n "$namespace" delete secret -l "$selector" --ignore-not-found --request-timeout=30s >/dev/null; then
    log "WARNING: could not remove the admin Secret ($selector) of a turned-off add-on in $namespace; left in place"
  fi
done <<<"$REMOVED_ADMIN_SECRETS"

log "== in service"
retry 10 complete_bootstrap CONTINUE

log "== done: server $NODE_NAME joined"
