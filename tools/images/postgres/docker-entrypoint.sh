#!/usr/bin/env bash
# Entrypoint of pos-local/postgres: same contract as the official `postgres` image.
#
#   POSTGRES_PASSWORD          superuser password (required unless POSTGRES_HOST_AUTH_METHOD=trust)
#   POSTGRES_USER              superuser name (default: postgres)
#   POSTGRES_DB                database created on first start (default: $POSTGRES_USER)
#   PGDATA                     data directory (default: /var/lib/postgresql/data)
#   POSTGRES_HOST_AUTH_METHOD  auth method for `host all all all` (default: scram-sha-256, or md5
#                              when password_encryption=md5)
#   POSTGRES_INITDB_ARGS       extra initdb arguments; POSTGRES_INITDB_WALDIR: separate WAL dir
#   <VAR>_FILE                 read POSTGRES_PASSWORD/USER/DB/INITDB_ARGS from a file (secrets)
#   /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz  run once, on first initialisation
#
# First start: initdb, then a temporary server (unix socket only) creates the database and runs
# the init scripts, is stopped, and the real server starts. So the log line
# "database system is ready to accept connections" appears TWICE on first start (once on later
# starts with an existing PGDATA), exactly like the official image; @testcontainers/postgresql
# waits for the second occurrence. Arguments are passed to postgres (e.g. `postgres -c fsync=off`,
# or just `-c fsync=off`). Starts as root, fixes ownership, then re-executes itself as postgres.
set -Eeo pipefail

file_env() { # VAR [default]: VAR or VAR_FILE
  local var="$1" fileVar="${1}_FILE" def="${2:-}"
  if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then
    echo >&2 "error: both $var and $fileVar are set (but are exclusive)"
    exit 1
  fi
  local val="$def"
  if [ "${!var:-}" ]; then
    val="${!var}"
  elif [ "${!fileVar:-}" ]; then
    val="$(<"${!fileVar}")"
  fi
  export "$var"="$val"
  unset "$fileVar"
}

wants_help() { # postgres args that only print something
  local a
  for a; do
    case "$a" in
      -'?'|--help|--describe-config|-V|--version|-C|-C*) return 0 ;;
    esac
  done
  return 1
}

setup_env() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  : "${PGDATA:=/var/lib/postgresql/data}"
  export PGDATA
  : "${POSTGRES_HOST_AUTH_METHOD:=}"
  DATABASE_ALREADY_EXISTS=
  if [ -s "$PGDATA/PG_VERSION" ]; then DATABASE_ALREADY_EXISTS=true; fi
}

create_db_directories() {
  local uid
  uid="$(id -u)"
  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA" || :
  mkdir -p /var/run/postgresql || :
  chmod 03775 /var/run/postgresql || :
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"
    [ "$uid" = 0 ] && find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
    chmod 700 "$POSTGRES_INITDB_WALDIR"
  fi
  if [ "$uid" = 0 ]; then
    find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
    find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
  fi
}

verify_minimum_env() {
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    cat >&2 <<'EOM'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.
EOM
    exit 1
  fi
  if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
    echo >&2 "WARNING: POSTGRES_HOST_AUTH_METHOD=trust: all connections are allowed without a password."
  fi
}

init_database_dir() {
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
    set -- --waldir "$POSTGRES_INITDB_WALDIR" "$@"
  fi
  # POSTGRES_INITDB_ARGS is word-split on purpose (same as the official image)
  # shellcheck disable=SC2086
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    $POSTGRES_INITDB_ARGS "$@"
}

setup_hba_conf() {
  local auth="$POSTGRES_HOST_AUTH_METHOD"
  if [ -z "$auth" ]; then
    if [ "$(postgres -C password_encryption "$@" 2>/dev/null || true)" = md5 ]; then auth=md5; else auth=scram-sha-256; fi
  fi
  {
    printf '\n'
    if [ "$auth" = trust ]; then
      printf '# warning trust is enabled for all connections\n'
    fi
    printf 'host all all all %s\n' "$auth"
  } >>"$PGDATA/pg_hba.conf"
}

temp_server_start() {
  if [ "${1:-}" = postgres ]; then shift; fi
  # unix socket only while initialising
  set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"
  PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

temp_server_stop() {
  PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
}

process_sql() {
  local query_runner=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  if [ -n "$POSTGRES_DB" ]; then query_runner+=(--dbname "$POSTGRES_DB"); fi
  PGHOST='' PGHOSTADDR='' "${query_runner[@]}" "$@"
}

setup_db() {
  local exists
  # POSTGRES_DB='' only affects process_sql's default --dbname; :'db' gets the real name
  # shellcheck disable=SC2097,SC2098
  exists="$(POSTGRES_DB='' process_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<'EOSQL'
SELECT 1 FROM pg_database WHERE datname = :'db' ;
EOSQL
)"
  if [ -z "$exists" ]; then
    # shellcheck disable=SC2097,SC2098
    POSTGRES_DB='' process_sql --dbname postgres --set db="$POSTGRES_DB" <<'EOSQL'
CREATE DATABASE :"db" ;
EOSQL
    echo
  fi
}

process_init_files() {
  local f
  echo
  for f; do
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then
          echo "$0: running $f"
          "$f"
        else
          echo "$0: sourcing $f"
          # shellcheck disable=SC1090
          . "$f"
        fi
        ;;
      *.sql) echo "$0: running $f"; process_sql -f "$f"; echo ;;
      *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | process_sql; echo ;;
      *.sql.xz) echo "$0: running $f"; xzcat "$f" | process_sql; echo ;;
      *.sql.zst) echo "$0: running $f"; zstd -dc "$f" | process_sql; echo ;;
      *) echo "$0: ignoring $f" ;;
    esac
    echo
  done
}

main() {
  # `docker run img -c fsync=off` -> postgres -c fsync=off
  if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
  fi

  if [ "$1" = postgres ] && ! wants_help "$@"; then
    setup_env
    create_db_directories
    if [ "$(id -u)" = 0 ]; then
      # drop privileges (setpriv is part of util-linux, no gosu needed)
      export HOME=/var/lib/postgresql
      exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
    fi

    if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
      verify_minimum_env
      # fail early if the init dir is unreadable
      ls /docker-entrypoint-initdb.d/ >/dev/null
      init_database_dir
      setup_hba_conf "$@"
      # the temporary server authenticates locally via trust, but psql may still ask
      export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
      temp_server_start "$@"
      setup_db
      shopt -s nullglob
      process_init_files /docker-entrypoint-initdb.d/*
      shopt -u nullglob
      temp_server_stop
      unset PGPASSWORD
      echo
      echo 'PostgreSQL init process complete; ready for start up.'
      echo
    else
      echo
      echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
      echo
    fi
  fi

  exec "$@"
}

main "$@"
