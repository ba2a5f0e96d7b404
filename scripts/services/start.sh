#!/usr/bin/env bash
# Starts the broker servers the test suites use, where they are not already running on their
# standard 127.0.0.1 ports: Redis :6379, Mosquitto :1883, PostgreSQL :5432, NATS :4222,
# RabbitMQ :5672 (with this machine's commands) and Kafka :9092 (KRaft, from Maven Central jars
# via kafka.sh). Used by .ci/run; `npm run services` runs it by hand.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() {
  for _ in $(seq 1 100); do listening "$2" && { echo "$1: ready on 127.0.0.1:$2"; return; }; sleep 0.1; done
  echo "$1: not listening on 127.0.0.1:$2" >&2
  return 1
}

if listening 6379; then echo "redis: already running"; else
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_for redis 6379
fi
if listening 1883; then echo "mosquitto: already running"; else
  mosquitto -d -c /etc/mosquitto/mosquitto.conf
  wait_for mosquitto 1883
fi
if listening 5432; then echo "postgresql: already running"; else
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -1)" main start
  wait_for postgresql 5432
fi
if listening 4222; then echo "nats: already running"; else
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_for nats 4222
fi
if listening 5672; then echo "rabbitmq: already running"; else
  rabbitmq-server -detached
  wait_for rabbitmq 5672 || { sleep 10; wait_for rabbitmq 5672; }
fi
"$here/kafka.sh" start
