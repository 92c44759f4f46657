#!/usr/bin/env bash
# Start the services the distributed tests use if this machine has them but
# they are not running (PostgreSQL, MariaDB, RabbitMQ). Missing ones are
# reported; the tests that need them then fail with a clear message.
set -u
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 60); do up "$1" && return 0; sleep 1; done; return 1; }

if ! up 5432 && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  wait_port 5432 || echo "PostgreSQL did not start" >&2
fi
if ! up 3306 && [ -x /usr/sbin/mariadbd ]; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  wait_port 3306 || echo "MariaDB did not start" >&2
fi
if ! up 5672 && command -v rabbitmq-server >/dev/null; then
  rabbitmq-server -detached || true
  wait_port 5672 || echo "RabbitMQ did not start" >&2
fi
exit 0
