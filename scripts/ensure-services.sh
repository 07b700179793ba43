#!/usr/bin/env bash
# Make sure the real PostgreSQL (127.0.0.1:5432, trust auth, db `test`) and Redis
# (127.0.0.1:6379) the integration tests use are running; start them if we can,
# otherwise fail naming what is missing. The embedded default needs neither.
set -u
PGHOST=${XINFANG_TEST_PGHOST:-127.0.0.1}
PGPORT=${XINFANG_TEST_PGPORT:-5432}
REDIS_PORT=${XINFANG_TEST_REDIS_PORT:-6379}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 30); do port_open "$1" "$2" && return 0; sleep 1; done
  return 1
}

if ! port_open "$PGHOST" "$PGPORT"; then
  echo "PostgreSQL is not running on $PGHOST:$PGPORT; starting it..."
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    ver=$(ls /etc/postgresql | sort -V | tail -n1)
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  fi
  wait_port "$PGHOST" "$PGPORT" || {
    echo "ERROR: PostgreSQL is required for the integration tests (127.0.0.1:5432, trust auth," >&2
    echo "       database 'test') and could not be started. Install it, e.g." >&2
    echo "       apt-get install postgresql, then rerun 'make test'." >&2
    exit 1
  }
fi

if ! port_open 127.0.0.1 "$REDIS_PORT"; then
  echo "Redis is not running on 127.0.0.1:$REDIS_PORT; starting it..."
  if command -v redis-server >/dev/null 2>&1; then
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
      --appendonly no --dir /tmp --logfile /tmp/xinfang-test-redis.log || true
  fi
  wait_port 127.0.0.1 "$REDIS_PORT" || {
    echo "ERROR: Redis is required for the integration tests (127.0.0.1:$REDIS_PORT) and" >&2
    echo "       could not be started. Install it (apt-get install redis-server) and rerun." >&2
    exit 1
  }
fi
echo "services: PostgreSQL $PGHOST:$PGPORT and Redis 127.0.0.1:$REDIS_PORT are up"
