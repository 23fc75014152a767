#!/bin/sh
# ENTRYPOINT of pos-local/kafka (behind tini). Without arguments it runs the default start
# (/etc/kafka/docker/run, same path as in apache/kafka); with arguments it runs them as given, so
# a custom container command (e.g. a Testcontainers "wait for config, then start" script, or
# /opt/kafka/bin/start-when-configured.sh) works as with apache/kafka, which has no ENTRYPOINT.
if [ $# -eq 0 ]; then
  set -- /etc/kafka/docker/run
fi
exec "$@"
