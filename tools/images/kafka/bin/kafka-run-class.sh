#!/bin/sh
# Minimal kafka-run-class.sh for pos-local/kafka:  kafka-run-class.sh <main class> [args...]
# Honours KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_GC_LOG_OPTS, KAFKA_JMX_OPTS,
# KAFKA_LOG4J_OPTS and KAFKA_OPTS like the upstream script. Defaults are sized for CLI tools
# (small heap, fast start); kafka-server-start.sh sets broker defaults before calling this.
set -e
if [ $# -lt 1 ]; then
  echo "USAGE: $0 classname [opts]" >&2
  exit 1
fi
main="$1"
shift
: "${KAFKA_HEAP_OPTS:=-Xmx256M -Xms16M}"
: "${KAFKA_JVM_PERFORMANCE_OPTS:=-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true}"
: "${KAFKA_LOG4J_OPTS:=-Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.properties}"
# word splitting of the *_OPTS variables is intended
# shellcheck disable=SC2086
exec java $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS ${KAFKA_GC_LOG_OPTS:-} ${KAFKA_JMX_OPTS:-} \
  $KAFKA_LOG4J_OPTS ${KAFKA_OPTS:-} -cp "/opt/kafka/libs/*" "$main" "$@"
