#!/usr/bin/env bash
# Three simulated sensors publishing over plain MQTT every second (Ctrl-C stops them).
set -euo pipefail
host="${MQTT_HOST:-127.0.0.1}"
while true; do
  mosquitto_pub -h "$host" -t pubsubbud/iot/sensor.temp -m "{\"c\":$((18 + RANDOM % 8)).$((RANDOM % 10))}"
  mosquitto_pub -h "$host" -t pubsubbud/iot/sensor.humidity -m "{\"percent\":$((40 + RANDOM % 20))}"
  mosquitto_pub -h "$host" -t pubsubbud/iot/sensor.door -m "{\"open\":$([ $((RANDOM % 2)) = 1 ] && echo true || echo false)}"
  sleep 1
done
