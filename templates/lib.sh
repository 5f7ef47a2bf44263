# Shared helpers for the k3s bootstrap scripts; rendered in front of server.sh and agent.sh.
LOG_FILE=/var/log/k3s-bootstrap.log
# cloud-init already copies stdout to the console; the file keeps a copy on the node.
exec > >(tee -a "$LOG_FILE") 2>&1

log() {
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) [k3s-bootstrap] $*"
}

trap 'log "FAILED at line $LINENO (exit $?)"' ERR

# retry ATTEMPTS COMMAND...: runs COMMAND until it succeeds, backing off exponentially up to a minute.
retry() {
  local attempts=$1 delay=2 attempt=1
  shift
  until "$@"; do
    if ((attempt >= attempts)); then
      log "giving up after $attempt attempts: $1"
      return 1
    fi
    log "attempt $attempt of $attempts failed: $1; retrying in $delay s"
    sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2 > 60 ? 60 : delay * 2))
  done
}

# imds PATH: one instance-metadata value through IMDSv2 (tokens are required by the launch template).
imds() {
  local token
  token=$(curl -sSf -X PUT "http://169.254.169.254/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
  curl -sSf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}

# secret_value ARN: the SecretString of a Secrets Manager secret, read with the instance role.
secret_value() {
  aws secretsmanager get-secret-value --region "$REGION" --secret-id "$1" --query SecretString --output text
}

# json_field KEY: one top-level field of the JSON document on stdin.
json_field() {
  python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# install_k3s ROLE: the pinned k3s release through the official installer; configuration is in config.yaml.
install_k3s() {
  retry 10 curl -sSfL https://get.k3s.io -o /tmp/k3s-install.sh
  # The installer's SELinux RPM comes from a repository of its own; Amazon Linux 2023 runs SELinux permissive.
  retry 5 env INSTALL_K3S_VERSION="$K3S_VERSION" INSTALL_K3S_SKIP_SELINUX_RPM=true INSTALL_K3S_SELINUX_WARN=true \
    sh /tmp/k3s-install.sh "$1"
}

log "== identity"
INSTANCE_ID=$(retry 10 imds instance-id)
AVAILABILITY_ZONE=$(retry 10 imds placement/availability-zone)
# The cloud provider finds instances by private DNS name, and the Lambdas map nodes by provider ID.
NODE_NAME=$(retry 10 imds local-hostname)
PROVIDER_ID="aws:///$AVAILABILITY_ZONE/$INSTANCE_ID"
log "instance $INSTANCE_ID in $AVAILABILITY_ZONE, node name $NODE_NAME"

log "== cluster token"
K3S_TOKEN=$(retry 10 secret_value "$TOKEN_SECRET_ARN")
mkdir -p /etc/rancher/k3s
umask 077
