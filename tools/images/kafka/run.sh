#!/usr/bin/env bash
# Default start of pos-local/kafka, installed as /etc/kafka/docker/run (the same path as in the
# official apache/kafka image, so harnesses written for it work unchanged).
#
# Configuration (same environment contract as apache/kafka):
#   * no KAFKA_* server variable set  -> the default single-node KRaft config
#     (/etc/kafka/docker/server.properties: broker+controller, node.id 1,
#      PLAINTEXT://localhost:9092 for clients, CONTROLLER on 9093, internal BROKER listener 29092).
#   * KAFKA_* variables are turned into properties like apache/kafka does:
#       strip KAFKA_, lower-case, then "_" -> ".", "___" -> "-", "__" -> "_"
#       (KAFKA_LOG_RETENTION_MS -> log.retention.ms, KAFKA_FOO___BAR -> foo-bar,
#        KAFKA_FOO__BAR -> foo_bar). JVM/logging variables are not properties (see EXCLUDED).
#     - KAFKA_PROCESS_ROLES set: the variables ARE the config (apache/kafka behaviour: the default
#       file is not used). As in apache/kafka, listeners defaults to advertised.listeners with
#       hosts replaced by 0.0.0.0. Additionally single-node defaults are filled in when missing:
#       offsets/transaction-state/share-state replication factor 1, min ISR 1,
#       group.initial.rebalance.delay.ms 0.
#     - KAFKA_PROCESS_ROLES not set (Kafka 4 has no ZooKeeper mode, so apache/kafka could not start
#       such a config anyway): the variables override single keys of the default config. E.g. just
#       KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://localhost:32771 is enough behind a mapped port; the
#       internal BROKER listener is kept/added automatically.
#   * CLUSTER_ID: used to format the storage on first start (a random one is generated if unset).
#   * /mnt/shared/config/server.properties, if present, replaces the default file (env vars are
#     appended, as in apache/kafka).
#   * Arguments of the form VAR=value are exported first (apache/kafka does the same).
#   * KAFKA_HEAP_OPTS (default "-Xmx512M -Xms512M"), KAFKA_OPTS, KAFKA_JVM_PERFORMANCE_OPTS,
#     KAFKA_LOG4J_OPTS, KAFKA_LOG4J_ROOT_LOGLEVEL, KAFKA_LOG4J_LOGGERS ("a.b=WARN,c=DEBUG").
#
# Ready: the broker logs "[KafkaRaftServer nodeId=<id>] Kafka Server started" when it serves
# clients.
set -euo pipefail

CONFIG_DIR=/opt/kafka/config
DEFAULTS_DIR=/etc/kafka/docker
MOUNTED_DIR=/mnt/shared/config
SERVER_PROPS="${CONFIG_DIR}/server.properties"

EXCLUDED=" KAFKA_VERSION KAFKA_HOME KAFKA_HEAP_OPTS KAFKA_HEAP_OPT KAFKA_OPTS KAFKA_JVM_PERFORMANCE_OPTS
 KAFKA_GC_LOG_OPTS KAFKA_JMX_OPTS KAFKA_JMX_PORT KAFKA_JMX_HOSTNAME KAFKA_DEBUG KAFKA_LOG4J_OPTS
 KAFKA_LOG4J_ROOT_LOGLEVEL KAFKA_LOG4J_LOGGERS KAFKA_TOOLS_LOG4J_LOGLEVEL KAFKA_START_ENV_FILE
 KAFKA_START_TIMEOUT "

if [[ $# -gt 0 ]]; then
  echo "===> Overriding env params with args ..."
  for var in "$@"; do
    [[ "$var" == *=* ]] || { echo "argument '$var' is not VAR=value" >&2; exit 1; }
    export "${var?}"
  done
fi

echo "===> User"
id

# --- KAFKA_* env -> properties ------------------------------------------------------------------
declare -A ENV_PROPS=()
ENV_KEYS=()
while IFS= read -r name; do
  [[ "$name" == KAFKA_* ]] || continue
  [[ "$EXCLUDED" == *" ${name} "* ]] && continue
  key="${name#KAFKA_}"
  key="${key,,}"
  key="${key//_/.}"
  key="${key//.../-}"
  key="${key//../_}"
  ENV_PROPS[$key]="${!name}"
  ENV_KEYS+=("$key")
done < <(compgen -e | LC_ALL=C sort)

# ordered property map helpers
declare -A PROPS=()
PROP_KEYS=()
prop_set() {
  [[ -n "${PROPS[$1]+x}" ]] || PROP_KEYS+=("$1")
  PROPS[$1]="$2"
}
prop_set_default() { [[ -n "${PROPS[$1]+x}" ]] || prop_set "$1" "$2"; }
load_props_file() {
  local line k v
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line#"${line%%[![:space:]]*}"}"
    [[ -z "$line" || "$line" == \#* || "$line" == !* ]] && continue
    k="${line%%=*}"
    v="${line#*=}"
    k="${k%"${k##*[![:space:]]}"}"
    v="${v#"${v%%[![:space:]]*}"}"
    prop_set "$k" "$v"
  done <"$1"
}

mkdir -p "$CONFIG_DIR"
[[ -w "$CONFIG_DIR" ]] || { echo "${CONFIG_DIR} is not writable" >&2; exit 1; }

base_file="${DEFAULTS_DIR}/server.properties"
[[ -f "${MOUNTED_DIR}/server.properties" ]] && base_file="${MOUNTED_DIR}/server.properties"

if [[ ${#ENV_KEYS[@]} -eq 0 ]]; then
  echo "===> No KAFKA_* server variables: using ${base_file}"
  load_props_file "$base_file"
elif [[ -n "${ENV_PROPS[process.roles]+x}" && "$base_file" == "${DEFAULTS_DIR}/server.properties" ]]; then
  echo "===> Configuring from KAFKA_* environment variables (KAFKA_PROCESS_ROLES is set)"
  for k in "${ENV_KEYS[@]}"; do prop_set "$k" "${ENV_PROPS[$k]}"; done
  if [[ -z "${PROPS[listeners]+x}" && -n "${PROPS[advertised.listeners]:-}" && "${PROPS[process.roles]}" != controller ]]; then
    prop_set listeners "$(sed -e 's|://[^:]*:|://0.0.0.0:|g' <<<"${PROPS[advertised.listeners]}")"
  fi
  if [[ "${PROPS[process.roles]}" == controller ]]; then
    unset 'PROPS[advertised.listeners]'
  fi
  prop_set_default offsets.topic.replication.factor 1
  prop_set_default transaction.state.log.replication.factor 1
  prop_set_default transaction.state.log.min.isr 1
  prop_set_default share.coordinator.state.topic.replication.factor 1
  prop_set_default share.coordinator.state.topic.min.isr 1
  prop_set_default group.initial.rebalance.delay.ms 0
else
  echo "===> Configuring from ${base_file} + KAFKA_* environment overrides"
  load_props_file "$base_file"
  for k in "${ENV_KEYS[@]}"; do prop_set "$k" "${ENV_PROPS[$k]}"; done
  if [[ "$base_file" == "${DEFAULTS_DIR}/server.properties" && "${PROPS[inter.broker.listener.name]:-}" == BROKER ]]; then
    # keep the internal BROKER listener when only the client listeners were overridden
    [[ ",${PROPS[listeners]:-}" == *",BROKER://"* ]] || prop_set listeners "${PROPS[listeners]:+${PROPS[listeners]},}BROKER://:29092"
    [[ "${PROPS[listener.security.protocol.map]:-}" == *"BROKER:"* ]] ||
      prop_set listener.security.protocol.map "${PROPS[listener.security.protocol.map]:+${PROPS[listener.security.protocol.map]},}BROKER:PLAINTEXT"
    if [[ -n "${PROPS[advertised.listeners]:-}" && ",${PROPS[advertised.listeners]}" != *",BROKER://"* ]]; then
      prop_set advertised.listeners "${PROPS[advertised.listeners]},BROKER://127.0.0.1:29092"
    fi
  fi
fi

tmp="$(mktemp "${CONFIG_DIR}/.server.properties.XXXXXX")"
{
  echo "# generated by /etc/kafka/docker/run at $(date -u +%FT%TZ)"
  for k in "${PROP_KEYS[@]}"; do
    [[ -n "${PROPS[$k]+x}" ]] && printf '%s=%s\n' "$k" "${PROPS[$k]}"
  done
} >"$tmp"
mv -f "$tmp" "$SERVER_PROPS"

# --- logging -----------------------------------------------------------------------------------
cp "${DEFAULTS_DIR}/log4j2.properties" "${CONFIG_DIR}/log4j2.properties"
cp "${DEFAULTS_DIR}/tools-log4j2.properties" "${CONFIG_DIR}/tools-log4j2.properties"
for f in log4j2.properties tools-log4j2.properties; do
  [[ -f "${MOUNTED_DIR}/${f}" ]] && cp "${MOUNTED_DIR}/${f}" "${CONFIG_DIR}/${f}"
done
if [[ -n "${KAFKA_LOG4J_LOGGERS:-}" ]]; then
  i=0
  IFS=',' read -r -a loggers <<<"$KAFKA_LOG4J_LOGGERS"
  for l in "${loggers[@]}"; do
    [[ "$l" == *=* ]] || continue
    i=$((i + 1))
    printf '\nlogger.env%d.name = %s\nlogger.env%d.level = %s\n' "$i" "${l%%=*}" "$i" "${l#*=}" >>"${CONFIG_DIR}/log4j2.properties"
  done
fi

# --- storage -----------------------------------------------------------------------------------
if [[ -z "${CLUSTER_ID:-}" ]]; then
  # same format as `kafka-storage.sh random-uuid`: 16 random bytes, base64url, no padding,
  # not starting with '-'
  while :; do
    CLUSTER_ID="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$CLUSTER_ID" != -* ]] && break
  done
  echo "===> CLUSTER_ID not set, generated ${CLUSTER_ID}"
fi
export CLUSTER_ID

roles="${PROPS[process.roles]:-}"
# --cluster-id=<id> as one word: ids may start with "-" (base64url)
format_args=(format --ignore-formatted "--cluster-id=${CLUSTER_ID}" -c "$SERVER_PROPS")
if [[ "$roles" == *controller* && -z "${PROPS[controller.quorum.voters]:-}" && -n "${PROPS[controller.quorum.bootstrap.servers]:-}" ]]; then
  format_args+=(--standalone) # dynamic quorum (KIP-853) with a single controller
fi
echo "===> Formatting storage (cluster id ${CLUSTER_ID}) ..."
if ! out="$(/opt/kafka/bin/kafka-storage.sh "${format_args[@]}" 2>&1)"; then
  echo "$out" >&2
  echo "===> kafka-storage.sh format failed" >&2
  exit 1
fi

echo "===> Launching kafka ..."
exec /opt/kafka/bin/kafka-server-start.sh "$SERVER_PROPS"
