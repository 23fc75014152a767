#!/bin/sh
# Delayed start for test harnesses (Testcontainers): the advertised listener must contain the
# host-mapped port, which is only known after the container has started. So the harness starts
# the container with this script as command, then copies a file /tmp/kafka-start.env into it,
# e.g.
#     KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://localhost:32771,BROKER://127.0.0.1:29092
# (KEY=value lines, sourced by /bin/sh with all variables exported: quote values with spaces).
# This script waits for that file, exports its variables and execs the normal start
# (/etc/kafka/docker/run), which turns KAFKA_* variables into server.properties.
#
# Env: KAFKA_START_ENV_FILE (default /tmp/kafka-start.env),
#      KAFKA_START_TIMEOUT seconds to wait (default 0 = forever).
#
# Portable alternative that also works with the official apache/kafka image (which does not have
# this script):
#   sh -c 'while [ ! -f /tmp/kafka-start.env ]; do sleep 0.1; done; set -a; . /tmp/kafka-start.env; set +a; exec /etc/kafka/docker/run'
f="${KAFKA_START_ENV_FILE:-/tmp/kafka-start.env}"
timeout="${KAFKA_START_TIMEOUT:-0}"
echo "===> Waiting for ${f} ..."
waited=0
while [ ! -f "$f" ]; do
  sleep 0.1
  waited=$((waited + 1))
  if [ "$timeout" -gt 0 ] && [ "$waited" -ge $((timeout * 10)) ]; then
    echo "===> ${f} did not appear within ${timeout}s" >&2
    exit 1
  fi
done
# give a writer that is still copying the file a moment to finish
sleep 0.1
set -a
# shellcheck disable=SC1090
. "$f"
set +a
exec /etc/kafka/docker/run "$@"
