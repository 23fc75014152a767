#!/usr/bin/env bash
# The project's entry point (README: `npm start`, `npm test`, `npm run stop`). On a fresh machine it
# installs what the project needs: the pinned Node.js, npm packages, a Docker engine, and the
# container images (built locally when no registry is reachable). Nothing else is required.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=tools/setup/node-env.sh
source tools/setup/node-env.sh
pos_node_env

say() { printf '[pos] %s\n' "$*" >&2; }

install_packages() {
  local marker=node_modules/.package-lock.json
  if [ ! -f "$marker" ] || [ package-lock.json -nt "$marker" ]; then
    say "installing npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

prepare_infrastructure() {
  bash tools/infra/ensure-docker.sh
  bash tools/images/build.sh all
  set -a
  # shellcheck source=/dev/null
  source .cache/images.env
  set +a
}

compose() {
  if docker compose version >/dev/null 2>&1; then
    docker compose -p pos "$@"
  else
    docker-compose -p pos "$@"
  fi
}

remove_leftover_test_containers() {
  # Testcontainers' reaper cannot be pulled here, so a run that crashed may leave containers behind.
  local leftovers
  leftovers="$(docker ps -aq --filter label=pos.test-stack=true)"
  if [ -n "$leftovers" ]; then
    say "removing containers left by an earlier test run"
    # shellcheck disable=SC2086
    docker rm -f $leftovers >/dev/null
  fi
}

wait_healthy() {
  local deadline=$((SECONDS + 240)) service state
  for service in kafka postgres payment-service clearing-service void-service; do
    while :; do
      state="$(docker inspect -f '{{.State.Health.Status}}' "$(compose ps -q "$service")" 2>/dev/null || echo starting)"
      [ "$state" = healthy ] && break
      if [ $SECONDS -ge $deadline ]; then
        say "$service is not healthy ($state); its last log lines:"
        compose logs --tail 40 "$service" >&2 || true
        return 1
      fi
      sleep 2
    done
    say "$service healthy"
  done
}

start() {
  install_packages
  prepare_infrastructure
  say "building the services"
  npx nx run-many -t build --projects=tag:type:app --output-style=static >/dev/null
  say "starting the stack"
  compose up -d --remove-orphans
  wait_healthy
  local kafka_port="${KAFKA_HOST_PORT:-19092}"
  cat <<SUMMARY

The stack is up.
  payment-service   http://localhost:${PAYMENT_HOST_PORT:-3001}   (health: /health/live, /health/ready)
  clearing-service  http://localhost:${CLEARING_HOST_PORT:-3002}
  void-service      http://localhost:${VOID_HOST_PORT:-3003}
  Kafka             localhost:${kafka_port}
  PostgreSQL        postgres://pos:pos@localhost:${POSTGRES_HOST_PORT:-15432}/pos

Kafka topics:
$(compose exec -T kafka /opt/kafka/bin/kafka-topics.sh --bootstrap-server localhost:29092 --list 2>/dev/null | grep -v '^__' | sed 's/^/  /')

Stop it with: npm run stop    (keeps the database volume; npm run stop -- --volumes removes it)
SUMMARY
}

stop() {
  if ! docker info >/dev/null 2>&1; then
    say "no Docker engine is running: nothing to stop"
    return 0
  fi
  [ -f .cache/images.env ] && { set -a; source .cache/images.env; set +a; }
  if [ "${1:-}" = "--volumes" ]; then compose down --volumes --remove-orphans; else compose down --remove-orphans; fi
}

run_tests() {
  install_packages
  prepare_infrastructure
  remove_leftover_test_containers
  local results=.cache/test-results status=0
  rm -rf "$results" && mkdir -p "$results"

  say "lint (module boundaries are errors)"
  npx nx run-many -t lint --output-style=static || status=1

  say "unit tests"
  npx jest -c jest.config.ts --ci --json --outputFile="$results/unit.json" || status=1

  say "integration tests (real Kafka and PostgreSQL in containers)"
  TESTCONTAINERS_RYUK_DISABLED=true npx jest -c jest.integration.config.ts --ci \
    --json --outputFile="$results/integration.json" || status=1
  remove_leftover_test_containers

  node tools/test-summary.mjs "$results/unit.json" "$results/integration.json" || status=1
  return $status
}

case "${1:-}" in
  start) start ;;
  stop) shift; stop "$@" ;;
  test) run_tests ;;
  *)
    echo "usage: tools/run.sh start|stop [--volumes]|test" >&2
    exit 2
    ;;
esac
