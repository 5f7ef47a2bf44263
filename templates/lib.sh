# Shared helpers for the k3s bootstrap scripts; rendered in front of server.sh and agent.sh.
# The k3s installer, pinned to a commit of k3s-io/k3s and checked against this sha256 before it runs.
K3S_INSTALL_SCRIPT_URL="{{ K3S_INSTALL_SCRIPT_URL }}"
K3S_INSTALL_SCRIPT_SHA256="{{ K3S_INSTALL_SCRIPT_SHA256 }}"

# The group and its launch lifecycle hook, which holds this instance out of service until the bootstrap ends.
AUTOSCALING_GROUP_NAME="{{ AUTOSCALING_GROUP_NAME }}"
BOOTSTRAP_HOOK_NAME="{{ BOOTSTRAP_HOOK_NAME }}"

LOG_FILE=/var/log/k3s-bootstrap.log
# cloud-init already copies stdout to the console; the file keeps a copy on the node.
exec > >(tee -a "$LOG_FILE") 2>&1

# Diagnostics go to stderr: stdout is what a $(...) capture takes as a value (a token, a host name).
log() {
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) [k3s-bootstrap] $*" >&2
}

# retry ATTEMPTS COMMAND...: runs COMMAND until it succeeds, backing off exponentially up to a minute. Only the
# successful attempt's stdout is passed on, so a capture never holds part of a failed attempt's output. COMMAND runs
# as a condition, where errexit does not apply: functions given to it check each of their steps.
retry() {
  local attempts=$1 delay=2 attempt=1 output
  shift
  until output=$("$@"); do
    if ((attempt >= attempts)); then
      log "giving up after $attempt attempts: $1"
      return 1
    fi
    log "attempt $attempt of $attempts failed: $1; retrying in $delay s"
    sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2 > 60 ? 60 : delay * 2))
  done
  if [ -n "$output" ]; then printf '%s\n' "$output"; fi
}

# imds PATH: one instance-metadata value through IMDSv2 (tokens are required by the launch template).
imds() {
  local token
  token=$(curl -sSf --max-time 10 -X PUT "http://169.254.169.254/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300") || return
  curl -sSf --max-time 10 -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}

# secret_value ARN: the SecretString of a Secrets Manager secret, read with the instance role.
secret_value() {
  aws secretsmanager get-secret-value --region "$REGION" --secret-id "$1" --query SecretString --output text
}

# json_field KEY: one top-level field of the JSON document on stdin.
json_field() {
  python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# yaml_quote VALUE: VALUE as a YAML single-quoted scalar, in which only ' is special (written twice).
yaml_quote() {
  local quote="'"
  printf "'%s'" "${1//$quote/$quote$quote}"
}

# mark_unhealthy: best effort; a node that cannot bootstrap asks its group to replace it rather than idle.
mark_unhealthy() {
  # Respecting the grace period would ignore the mark: most bootstrap failures happen within it.
  if aws autoscaling set-instance-health --instance-id "$INSTANCE_ID" --health-status Unhealthy \
    --no-should-respect-grace-period --region "$REGION"; then
    log "marked $INSTANCE_ID unhealthy; its group replaces it"
  else
    log "could not mark $INSTANCE_ID unhealthy"
  fi
}

# complete_bootstrap RESULT: ends the launch lifecycle action holding this instance in Pending:Wait. CONTINUE puts it
# in service (and behind its load balancers, so an instance refresh moves on only once it works); ABANDON terminates
# it and the group launches another.
complete_bootstrap() {
  local error
  if error=$(aws autoscaling complete-lifecycle-action --region "$REGION" --auto-scaling-group-name "$AUTOSCALING_GROUP_NAME" \
    --lifecycle-hook-name "$BOOTSTRAP_HOOK_NAME" --instance-id "$INSTANCE_ID" --lifecycle-action-result "$1" 2>&1 >/dev/null); then
    return 0
  fi
  # A group created before it had the hook launches without a pending action: nothing to complete.
  if [[ $error == *"No active Lifecycle Action found"* ]]; then
    log "no launch lifecycle action is pending for $INSTANCE_ID"
    return 0
  fi
  log "complete-lifecycle-action $1 failed: $error"
  return 1
}

on_exit() {
  local status=$?
  if ((status != 0)); then
    log "bootstrap FAILED (exit $status)"
    if [ -z "${INSTANCE_ID:-}" ] && ! INSTANCE_ID=$(retry 3 imds instance-id); then
      log "cannot mark this instance unhealthy: its instance ID is unknown"
      return
    fi
    # While the hook holds the instance, health marks do not apply to it: abandoning the launch replaces it.
    if complete_bootstrap ABANDON; then log "abandoned the launch of $INSTANCE_ID"; fi
    mark_unhealthy
  fi
}
trap 'log "failed at line $LINENO: $BASH_COMMAND (exit $?)"' ERR
trap on_exit EXIT

# run_installer FILE ROLE: installs and enables k3s without starting it; the installer's progress is diagnostics, so
# it goes to stderr. The installer's own start (systemd_start in install.sh) is `systemctl restart` of a Type=notify
# unit with TimeoutStartSec=0, which waits for as long as k3s does, and a rerun that changes no file skips the start.
run_installer() {
  # The installer's SELinux RPM comes from a repository of its own; Amazon Linux 2023 runs SELinux permissive.
  env INSTALL_K3S_VERSION="$K3S_VERSION" INSTALL_K3S_SKIP_START=true INSTALL_K3S_SKIP_SELINUX_RPM=true \
    INSTALL_K3S_SELINUX_WARN=true sh "$1" "$2" >&2
}

# install_k3s ROLE UNIT: the pinned k3s release, configured by config.yaml, started without waiting: the caller waits,
# bounded, for a sign that it works. The installer itself checks the k3s binary against the release's
# sha256sum-<arch>.txt (download_hash and verify_binary in k3s-io/k3s install.sh).
install_k3s() {
  local installer
  installer=$(mktemp)
  retry 10 curl -sSfL --max-time 120 "$K3S_INSTALL_SCRIPT_URL" -o "$installer"
  if ! echo "$K3S_INSTALL_SCRIPT_SHA256  $installer" | sha256sum --check --status; then
    log "the installer from $K3S_INSTALL_SCRIPT_URL does not match its pinned sha256 $K3S_INSTALL_SCRIPT_SHA256"
    return 1
  fi
  retry 5 run_installer "$installer" "$1"
  rm -f "$installer"
  systemctl start --no-block "$2"
}

log "== identity"
INSTANCE_ID=$(retry 10 imds instance-id)
AVAILABILITY_ZONE=$(retry 10 imds placement/availability-zone)
# The cloud provider finds instances by private DNS name, and the Lambdas map nodes by provider ID.
NODE_NAME=$(retry 10 imds local-hostname)
PROVIDER_ID="aws:///$AVAILABILITY_ZONE/$INSTANCE_ID"
log "instance $INSTANCE_ID in $AVAILABILITY_ZONE, node name $NODE_NAME"

mkdir -p /etc/rancher/k3s
umask 077
