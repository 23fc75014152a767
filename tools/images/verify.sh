#!/usr/bin/env bash
# End-to-end check of the images named in .cache/images.env (run tools/images/build.sh first).
# Every check goes through a port published on a random host port and is made from the host
# network (clients run with --network host from the images themselves, so nothing but docker is
# needed on the host):
#   postgres: starts with POSTGRES_PASSWORD, logs "ready to accept connections" twice, answers
#             `psql -c 'select 1'` on 127.0.0.1:<mapped port>
#   kafka:    delayed start via /opt/kafka/bin/start-when-configured.sh with
#             KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://127.0.0.1:<mapped port>, then create a topic,
#             produce, consume in a consumer group and check the group's committed offsets
#   node:     `node -v` prints v$NODE_VERSION
# Usage: tools/images/verify.sh [kafka|postgres|node|all]
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd)"
ENV_FILE="${REPO_ROOT}/.cache/images.env"
# shellcheck source=versions.env
. "${SCRIPT_DIR}/versions.env"

log() { echo "[verify] $*" >&2; }
die() { echo "[verify] ERROR: $*" >&2; exit 1; }

TARGET="${1:-all}"
case "$TARGET" in all|kafka|postgres|node) ;; *) die "usage: $0 [kafka|postgres|node|all]" ;; esac
[[ -f "$ENV_FILE" ]] || die "${ENV_FILE} not found: run tools/images/build.sh first"
set -a
# shellcheck disable=SC1090
. "$ENV_FILE"
set +a

CONTAINERS=()
cleanup() {
  local c
  for c in "${CONTAINERS[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

ms() { date +%s%3N; }

wait_log() { # container regex count timeout_s
  local cid="$1" re="$2" n="$3" deadline=$((SECONDS + $4))
  while ((SECONDS < deadline)); do
    if [[ "$(docker logs "$cid" 2>&1 | grep -cE "$re" || true)" -ge "$n" ]]; then return 0; fi
    [[ "$(docker inspect -f '{{.State.Running}}' "$cid" 2>/dev/null)" == true ]] || break
    sleep 0.25
  done
  docker logs "$cid" 2>&1 | tail -n 30 >&2
  return 1
}

mapped_port() { docker port "$1" "$2/tcp" | sed -n 's/^0\.0\.0\.0:\([0-9]*\)$/\1/p' | head -n1; }

verify_postgres() {
  local img="${POSTGRES_IMAGE:?POSTGRES_IMAGE missing in images.env}" cid port t0 out
  t0=$(ms)
  cid="$(docker run -d -e POSTGRES_PASSWORD=verify -p 5432 "$img" -c fsync=off)"
  CONTAINERS+=("$cid")
  wait_log "$cid" 'database system is ready to accept connections' 2 60 || die "postgres did not become ready"
  port="$(mapped_port "$cid" 5432)"
  out="$(docker run --rm --network host -e PGPASSWORD=verify "$img" \
    psql -h 127.0.0.1 -p "$port" -U postgres -Atc 'select 1')" || die "psql via 127.0.0.1:${port} failed"
  [[ "$out" == 1 ]] || die "psql printed '${out}'"
  log "postgres OK: ${img}, ready (2x ready line) in $(($(ms) - t0)) ms, select 1 via 127.0.0.1:${port}"
}

verify_kafka() {
  local img="${KAFKA_IMAGE:?KAFKA_IMAGE missing in images.env}" cid port t0 bs topic out
  t0=$(ms)
  cid="$(docker run -d -p 9092 "$img" /opt/kafka/bin/start-when-configured.sh)"
  CONTAINERS+=("$cid")
  port="$(mapped_port "$cid" 9092)"
  printf 'KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://127.0.0.1:%s\n' "$port" |
    docker exec -i "$cid" sh -c 'cat > /tmp/kafka-start.env.tmp && mv /tmp/kafka-start.env.tmp /tmp/kafka-start.env'
  wait_log "$cid" 'Kafka Server started' 1 90 || die "kafka did not start"
  log "kafka broker up in $(($(ms) - t0)) ms (advertised 127.0.0.1:${port})"
  bs="127.0.0.1:${port}"
  topic="verify-$$"
  kt() { docker run --rm -i --network host "$img" "$@"; }
  kt kafka-topics.sh --bootstrap-server "$bs" --create --topic "$topic" --partitions 2 >/dev/null ||
    die "kafka-topics --create failed"
  printf 'one\ntwo\nthree\n' | kt kafka-console-producer.sh --bootstrap-server "$bs" --topic "$topic" ||
    die "producing failed"
  out="$(kt kafka-console-consumer.sh --bootstrap-server "$bs" --topic "$topic" --group verify-group \
    --from-beginning --max-messages 3 --timeout-ms 30000 2>/dev/null | sort | tr '\n' ' ')"
  [[ "$out" == "one three two " ]] || die "consumed '${out}'"
  out="$(kt kafka-consumer-groups.sh --bootstrap-server "$bs" --describe --group verify-group 2>/dev/null |
    awk -v t="$topic" '$2 == t { s += $4 } END { print s + 0 }')"
  [[ "$out" == 3 ]] || die "committed offsets of verify-group sum to '${out}', expected 3"
  log "kafka OK: ${img}, topic created, 3 records produced and consumed by a group, offsets committed"
}

verify_node() {
  local img="${NODE_IMAGE:?NODE_IMAGE missing in images.env}" out
  out="$(docker run --rm "$img" node -v)"
  [[ "$out" == "v${NODE_VERSION}" || "${NODE_IMAGE}" != pos-local/* ]] || die "node -v printed '${out}'"
  log "node OK: ${img} -> ${out}"
}

case "$TARGET" in
  all) verify_postgres; verify_kafka; verify_node ;;
  *) "verify_${TARGET}" ;;
esac
