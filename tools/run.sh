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
  # COMPOSE_PROFILES=observability npm start also runs Prometheus (docs/observability.md).
  case ",${COMPOSE_PROFILES:-}," in *,observability,*) bash tools/images/build.sh prometheus ;; esac
  set -a
  # shellcheck source=/dev/null
  source .cache/images.env
  set +a
}

# One image per service from the bundles just built (tools/images/build-services.sh).
prepare_service_images() {
  say "building the service images"
  bash tools/images/build-services.sh
  load_service_images
}

load_service_images() {
  [ -f .cache/service-images.env ] || return 0
  set -a
  # shellcheck source=/dev/null
  source .cache/service-images.env
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

# Demo merchants M001..M050: random API keys and supervisor (SUP) credentials, and demo operators of
# the clearing API (demo-viewer, demo-operator, demo-approver, demo-approver-2) with random bearer
# tokens, made on the first
# `npm start` into .cache/demo-credentials.env (git-ignored, readable by this user only) and shown
# once. Only their hashes reach the services, as production keys would: sha256 for the long random
# keys, salted scrypt for the short credentials (the format `npm run ops -- supervisor hash` writes).
# The business day reads the clear ones (DEMO_MERCHANT_KEYS, DEMO_SUPERVISOR_CREDENTIALS).
demo_credentials_file=.cache/demo-credentials.env
export_demo_credentials() {
  if [ ! -f "$demo_credentials_file" ]; then
    say "generating random demo merchant keys and supervisor credentials (first run only)"
    mkdir -p .cache
    (umask 077 && node -e '
      const { createHash, randomBytes, randomInt, scrypt } = require("node:crypto");
      const sha = (s) => createHash("sha256").update(s).digest("hex");
      const slow = (s) => new Promise((resolve, reject) => {
        const salt = randomBytes(16);
        scrypt(s, salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (error, hash) =>
          error ? reject(error) : resolve("scrypt$N=32768:r=8:p=1$" + salt.toString("base64url") + "$" + hash.toString("base64url")));
      });
      const ids = Array.from({ length: 50 }, (_, i) => "M" + String(i + 1).padStart(3, "0"));
      const keys = ids.map((m) => [m, randomBytes(24).toString("base64url")]);
      const pins = ids.map((m) => [m, String(randomInt(0, 1e8)).padStart(8, "0")]);
      (async () => {
        const hashes = await Promise.all(pins.map(async ([m, pin]) => m + "/SUP:" + (await slow(pin))));
        const line = (name, value) => name + "=\x27" + value + "\x27";
        console.log([
          "# Demo credentials of this checkout, made by the first npm start (tools/run.sh). Delete the file for new ones.",
          line("DEMO_MERCHANT_KEYS", keys.map(([m, k]) => m + ":" + k).join(",")),
          line("DEMO_SUPERVISOR_CREDENTIALS", pins.map(([m, p]) => m + ":" + p).join(",")),
          line("MERCHANT_API_KEYS", keys.map(([m, k]) => m + ":" + sha(k)).join(",")),
          line("SUPERVISOR_CREDENTIALS", hashes.join(",")),
        ].join("\n"));
      })();
    ' >"$demo_credentials_file.tmp") && mv "$demo_credentials_file.tmp" "$demo_credentials_file"
    set -a
    # shellcheck source=/dev/null
    source "$demo_credentials_file"
    set +a
    node -e '
      const pairs = (text) => text.split(",").slice(0, 3).map((e) => e.split(/:(.*)/s));
      const pins = new Map(pairs(process.env.DEMO_SUPERVISOR_CREDENTIALS));
      console.error("\nDemo credentials (shown once; all 50 merchants are in '"$demo_credentials_file"'):");
      for (const [m, key] of pairs(process.env.DEMO_MERCHANT_KEYS)) console.error("  " + m + "  X-Api-Key: " + key + "   supervisor SUP: " + pins.get(m));
      console.error("");
    '
  fi
  set -a
  # shellcheck source=/dev/null
  source "$demo_credentials_file"
  set +a
}

# The services' PostgreSQL roles (docs/adr/0007): per service an owner of its schema, which its
# migrations run as, and the runtime role it runs as. Their random passwords are added to the demo
# credentials file on the first start that needs them; the administrator makes (or repairs) the
# roles and schemas before any service starts (npm run ops -- db provision).
database_roles=(payment:payment clearing:clearing void:voids)
export_database_credentials() {
  local service variable
  for service in "${database_roles[@]}"; do
    for variable in "${service%%:*}_DB_OWNER_PASSWORD" "${service%%:*}_DB_RUNTIME_PASSWORD"; do
      variable="$(printf %s "$variable" | tr '[:lower:]' '[:upper:]')"
      grep -q "^$variable=" "$demo_credentials_file" ||
        printf "%s='%s'\n" "$variable" "$(node -e 'process.stdout.write(require("node:crypto").randomBytes(24).toString("base64url"))')" >>"$demo_credentials_file"
    done
  done
  set -a
  # shellcheck source=/dev/null
  source "$demo_credentials_file"
  set +a
}

provision_database() {
  local deadline=$((SECONDS + 120)) service name upper
  compose up -d postgres
  until [ "$(docker inspect -f '{{.State.Health.Status}}' "$(compose ps -q postgres)" 2>/dev/null)" = healthy ]; do
    [ $SECONDS -ge $deadline ] && { say "postgres is not healthy"; return 1; }
    sleep 1
  done
  for service in "${database_roles[@]}"; do
    name="${service%%:*}" upper="$(printf %s "${service%%:*}" | tr '[:lower:]' '[:upper:]')"
    DATABASE_ADMIN_URL="postgres://pos:pos@127.0.0.1:${POSTGRES_HOST_PORT:-15432}/pos" \
      DATABASE_OWNER_PASSWORD="$(printenv "${upper}_DB_OWNER_PASSWORD")" DATABASE_RUNTIME_PASSWORD="$(printenv "${upper}_DB_RUNTIME_PASSWORD")" \
      node dist/apps/ops-cli/main.js db provision --schema "${service#*:}" --owner "${name}_owner" --runtime "${name}_service" >/dev/null
  done
  say "database roles provisioned"
}

# Kafka's CA, the broker's key store and a random SCRAM-SHA-512 password per principal (services,
# upstream, operator, replayer, admin), made on the first `npm start` into .cache/kafka (git-ignored,
# a directory only this user enters) by the operator CLI, and kept for later starts. Delete the
# directory and restart the stack (npm run stop, npm start) for new ones.
kafka_credentials_dir=.cache/kafka
export_kafka_credentials() {
  if [ ! -f "$kafka_credentials_dir/broker.pem" ]; then
    say "generating the Kafka CA, broker certificate and SCRAM passwords (first run only)"
    node dist/apps/ops-cli/main.js kafka credentials "$kafka_credentials_dir" >/dev/null
  fi
  set -a
  # shellcheck source=/dev/null
  source "$kafka_credentials_dir/kafka-credentials.env"
  set +a
}

# The compose stack's broker for this machine's clients, as `principal` (unless KAFKA_BROKERS or the
# KAFKA_SASL_* of another principal are set already).
use_stack_kafka_as() {
  [ -f "$kafka_credentials_dir/broker.pem" ] && [ -z "${KAFKA_BROKERS:-}" ] || return 0
  export_kafka_credentials
  export KAFKA_BROKERS="localhost:${KAFKA_HOST_PORT:-19092}"
  export KAFKA_SSL_CA="${KAFKA_SSL_CA:-$kafka_credentials_dir/ca.pem}" KAFKA_SASL_MECHANISM="${KAFKA_SASL_MECHANISM:-scram-sha-512}"
  if [ -z "${KAFKA_SASL_USERNAME:-}" ]; then
    local variable="KAFKA_PASSWORD_$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')"
    export KAFKA_SASL_USERNAME="$1" KAFKA_SASL_PASSWORD="${!variable}"
  fi
}

print_stack() {
  cat <<SUMMARY

The stack is up.
  payment-service   http://localhost:${PAYMENT_HOST_PORT:-3001}   (health: /health/ready; admin: http://127.0.0.1:${PAYMENT_ADMIN_HOST_PORT:-9001})
  clearing-service  http://localhost:${CLEARING_HOST_PORT:-3002}   (admin: http://127.0.0.1:${CLEARING_ADMIN_HOST_PORT:-9002})
  void-service      http://localhost:${VOID_HOST_PORT:-3003}   (admin: http://127.0.0.1:${VOID_ADMIN_HOST_PORT:-9003})
  Admin ports serve /metrics and the OpenAPI UI (/v1/docs); the clearing API needs an operator
  token or a merchant key (the demo ones: .cache/demo-credentials.env).
  Kafka             localhost:${KAFKA_HOST_PORT:-19092}      (SASL_SSL, SCRAM-SHA-512: the CA and each principal's password
                    are in .cache/kafka; npm run ops -- topics connects as the operator)
  PostgreSQL        postgres://pos:pos@localhost:${POSTGRES_HOST_PORT:-15432}/pos

Kafka topics:
$(compose exec -T -e KAFKA_HEAP_OPTS=-Xmx96m kafka /opt/kafka/bin/kafka-topics.sh --bootstrap-server 127.0.0.1:9091 --list 2>/dev/null | grep -v '^__' | sed 's/^/  /')
SUMMARY
}

# npm start [-- driver options]: the stack, then a simulated business day through it. With
# --payment-url/--void-url/--clearing-url/--brokers the day runs against a stack already running
# elsewhere and nothing is started here.
start() {
  install_packages
  local external=0 arg
  for arg in "$@"; do
    case "$arg" in --payment-url*|--void-url*|--clearing-url*|--brokers*) external=1 ;; esac
  done
  say "building the services and the business-day driver"
  nx run-many -t build --projects=tag:type:app --output-style=static >/dev/null
  if [ "$external" = 0 ]; then
    prepare_infrastructure
    prepare_service_images
    export_demo_credentials
    export_database_credentials
    export_kafka_credentials
    mkdir -p out/reconciliation && chmod 0777 out out/reconciliation
    say "starting the stack"
    provision_database
    compose up -d --remove-orphans
    wait_healthy
    print_stack
    # The day reads events as the operator and sends its commands as an upstream system.
    use_stack_kafka_as operator
    export KAFKA_COMMANDS_SASL_USERNAME=upstream KAFKA_COMMANDS_SASL_PASSWORD="$KAFKA_PASSWORD_UPSTREAM"
  fi
  say "running the business day"
  local status=0
  node dist/apps/business-day/main.js "$@" || status=$?
  [ "$external" = 0 ] && printf '\nThe stack keeps running. Stop it with: npm run stop   (npm run stop -- --volumes also drops the database)\n'
  return $status
}

stop() {
  if ! docker info >/dev/null 2>&1; then
    say "no Docker engine is running: nothing to stop"
    return 0
  fi
  [ -f .cache/images.env ] && { set -a; source .cache/images.env; set +a; }
  load_service_images
  [ -f "$demo_credentials_file" ] && export_demo_credentials
  [ -f "$kafka_credentials_dir/broker.pem" ] && export_kafka_credentials
  if [ "${1:-}" = "--volumes" ]; then compose down --volumes --remove-orphans; else compose down --remove-orphans; fi
}

# The contract test produces with kcat, a non-JavaScript Kafka client, as an upstream team would.
ensure_kcat() {
  command -v kcat >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing kcat (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null; }
  else
    say "kcat is missing: install it (Debian/Ubuntu: apt-get install kcat)"
    return 1
  fi
}

# The report test opens report.html in headless Chromium (playwright-core drives Debian's chromium:
# playwright's own browser downloads are not used).
ensure_chromium() {
  [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing chromium (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
  else
    say "chromium is missing: install it (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH"
    return 1
  fi
}

run_tests() {
  install_packages
  prepare_infrastructure
  ensure_kcat
  ensure_chromium
  remove_leftover_test_containers
  local results=.cache/test-results status=0
  rm -rf "$results" && mkdir -p "$results"

  say "lint (module boundaries are errors)"
  nx run-many -t lint --output-style=static || status=1

  say "unit tests"
  jest -c jest.config.ts --ci --json --outputFile="$results/unit.json" || status=1

  say "building the services (system tests run their bundles as processes)"
  nx run-many -t build --projects=tag:type:app --output-style=static >/dev/null || status=1

  say "integration tests (real Kafka and PostgreSQL in containers)"
  TESTCONTAINERS_RYUK_DISABLED=true jest -c jest.integration.config.ts --ci \
    --json --outputFile="$results/integration.json" || status=1
  remove_leftover_test_containers

  node tools/test-summary.mjs "$results/unit.json" "$results/integration.json" || status=1
  return $status
}

# npm run --silent ops -- <command>: the operator CLI on the pinned Node, built first when needed.
# Its stdout is the CLI's output alone (scripts pipe `--json` into jq): whatever the installation
# and the build have to say goes to stderr, the build's log only when it fails.
ops() {
  install_packages >&2
  local build_log
  if ! build_log="$(nx build ops-cli --output-style=static 2>&1)"; then
    printf '%s\n' "$build_log" >&2
    say "building the operator CLI failed"
    exit 1
  fi
  # Against the compose stack (no KAFKA_BROKERS set) as the operator principal, which reads only.
  use_stack_kafka_as operator
  exec node dist/apps/ops-cli/main.js "$@"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  ops) shift; ops "$@" ;;
  stop) shift; stop "$@" ;;
  test) run_tests ;;
  *)
    echo "usage: tools/run.sh start [day options]|stop [--volumes]|test|ops <command>" >&2
    exit 2
    ;;
esac
