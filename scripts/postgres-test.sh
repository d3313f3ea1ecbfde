#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the registry tests.
#   scripts/postgres-test.sh start      → initdb under /tmp, start on a free port (unix socket in the same /tmp dir,
#                                         no TCP), create database neural_test; prints the Npgsql connection string
#   scripts/postgres-test.sh stop DIR   → stop the cluster whose socket dir (the Host= of the string) is DIR, remove it
# Exit code 3: PostgreSQL server binaries are not installed (Debian package postgresql).
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ] || [ ! -x "$bin/pg_ctl" ]; then
  echo "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)" >&2
  exit 3
fi

# initdb refuses to run as root: run the server as the postgres user then.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    dir=$(mktemp -d /tmp/neural-pg.XXXXXX)
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    port=""
    for p in $(shuf -i 20000-60000 -n 50); do
      if ! (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$p" ]; then port=$p; break; fi
    done
    [ -n "$port" ] || { echo "no free port found" >&2; exit 1; }
    as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-locale -E UTF8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses='' -c fsync=off -c full_page_writes=off" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    as_pg "$bin/createdb" -h "$dir" -p "$port" -U postgres neural_test
    echo "Host=$dir;Port=$port;Username=postgres;Database=neural_test"
    ;;
  stop)
    dir=${2:?usage: postgres-test.sh stop DIR}
    case "$dir" in /tmp/neural-pg.*) ;; *) echo "refusing to stop '$dir': not a throwaway cluster" >&2; exit 2 ;; esac
    [ -d "$dir/data" ] && as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
