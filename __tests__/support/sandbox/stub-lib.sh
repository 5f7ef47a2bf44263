# Sourced by the sandbox's stub commands (state in $SANDBOX_STATE); functions, not commands, to keep runs fast.
: "${SANDBOX_STATE:?}"

# record NAME ARGS...: one line per call in calls.log, fields tab-separated, with \, tab and newline escaped.
record() {
  local line="" field
  for field in "$@"; do
    field=${field//\\/\\\\}
    field=${field//$'\t'/\\t}
    field=${field//$'\n'/\\n}
    line+=$'\t'$field
  done
  printf '%s\n' "${line:1}" >>"$SANDBOX_STATE/calls.log"
}

# injected_failure KEY: true for the first N calls of KEY, N being the number in faults/KEY (none when absent).
injected_failure() {
  local count_file="$SANDBOX_STATE/counts/$1" failures=0 count=0
  if [ -f "$SANDBOX_STATE/faults/$1" ]; then failures=$(<"$SANDBOX_STATE/faults/$1"); fi
  if [ -f "$count_file" ]; then count=$(<"$count_file"); fi
  count=$((count + 1))
  echo "$count" >"$count_file"
  ((count <= failures))
}
