#!/usr/bin/env bash
# Runs a real Apache Kafka broker (KRaft mode, one node) on 127.0.0.1:9092 for tests and benches.
# The jars come from Maven Central through kafka-pom.xml; data and logs live in .services/kafka.
#   scripts/services/kafka.sh start   download if needed, format once, start, wait until ready
#   scripts/services/kafka.sh stop    stop the broker started here
#   scripts/services/kafka.sh kill    SIGKILL it, as a crash would (fault tests)
#   scripts/services/kafka.sh freeze  SIGSTOP it: connections stay open, nothing answers (fault tests)
#   scripts/services/kafka.sh thaw    SIGCONT it after a freeze
# PUBSUBBUD_KAFKA_PORT picks another port (and data folder) for a private broker.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
home="$root/.services/kafka-${PUBSUBBUD_KAFKA_PORT:-9092}"
libs="$root/.services/kafka-libs"
port="${PUBSUBBUD_KAFKA_PORT:-9092}"
controller_port=$((port + 1))

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fetch_jars() {
  [ -f "$libs/.complete" ] && return
  mkdir -p "$libs"
  mvn -q -B -f "$root/scripts/services/kafka-pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$libs" -DincludeScope=runtime
  touch "$libs/.complete"
}

write_config() {
  cat >"$home/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$home/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  cat >"$home/log4j2.properties" <<PROPS
rootLogger.level=WARN
rootLogger.appenderRef.file.ref=file
appender.file.type=File
appender.file.name=file
appender.file.fileName=$home/kafka.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
PROPS
}

# One JVM command line for the storage tool and the broker.
java_run() {
  ${JAVA_EXEC:+exec} java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$home/log4j2.properties" -cp "$libs/*" "$@"
}

start() {
  if listening "$port"; then echo "kafka: already listening on 127.0.0.1:$port"; return; fi
  fetch_jars
  mkdir -p "$home"
  write_config
  if [ ! -f "$home/data/meta.properties" ]; then
    java_run kafka.tools.StorageTool format --standalone -t "$(java_run kafka.tools.StorageTool random-uuid)" \
      -c "$home/server.properties" >"$home/format.log"
  fi
  # JAVA_EXEC: the background job execs the JVM, so $! is the broker's own pid.
  (JAVA_EXEC=1 java_run kafka.Kafka "$home/server.properties" </dev/null) >"$home/stdout.log" 2>&1 &
  echo $! >"$home/pid"
  for _ in $(seq 1 120); do
    if listening "$port"; then echo "kafka: ready on 127.0.0.1:$port (pid $(cat "$home/pid"))"; return; fi
    if ! kill -0 "$(cat "$home/pid")" 2>/dev/null; then
      echo "kafka: the broker exited; see $home/stdout.log and $home/kafka.log" >&2
      tail -20 "$home/stdout.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "kafka: not listening on 127.0.0.1:$port after 60 s; see $home/kafka.log" >&2
  exit 1
}

stop() {
  [ -f "$home/pid" ] || { echo "kafka: no pid file"; return; }
  local pid; pid="$(cat "$home/pid")"
  kill "$pid" 2>/dev/null || true
  kill -CONT "$pid" 2>/dev/null || true # a frozen broker handles SIGTERM only once it runs
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  rm -f "$home/pid"
  echo "kafka: stopped"
}

# Kills the broker at once (SIGKILL), as a crash would: for fault tests.
crash() {
  [ -f "$home/pid" ] || return 0
  local pid; pid="$(cat "$home/pid")"
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$home/pid"
}

# Stops (SIGSTOP) or continues (SIGCONT) the broker: a frozen broker keeps its connections open
# and answers nothing, as a hung host or a network partition would: for fault tests.
signal() {
  [ -f "$home/pid" ] || { echo "kafka: no pid file" >&2; exit 1; }
  kill "-$1" "$(cat "$home/pid")"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  kill) crash ;;
  freeze) signal STOP ;;
  thaw) signal CONT ;;
  *) echo "usage: $0 start|stop|kill|freeze|thaw" >&2; exit 2 ;;
esac
