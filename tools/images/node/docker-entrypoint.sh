#!/bin/sh
# Entrypoint of pos-local/node (behaves like the official node image's entrypoint):
# `docker run img app.js` / `docker run img --version` run node; any other command runs as given.
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1" || true)" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
