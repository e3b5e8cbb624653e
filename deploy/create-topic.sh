#!/bin/sh
# One-shot topic creation, run by docker-compose.yml's kafka-init service in the apache/kafka image (same version as the
# broker, so kafka-topics.sh matches it). Creates $KAFKA_TOPIC with $KAFKA_PARTITIONS partitions if it does not exist,
# then checks the partition count: the silos' Kafka:Partitions must equal it (one partition = one Orleans queue), so a
# topic left over with another count stops the deployment here, with the reason, instead of silently losing partitions.
set -eu

bootstrap=${KAFKA_BOOTSTRAP:?KAFKA_BOOTSTRAP is not set}
topic=${KAFKA_TOPIC:?KAFKA_TOPIC is not set}
partitions=${KAFKA_PARTITIONS:?KAFKA_PARTITIONS is not set}
replication=${KAFKA_REPLICATION_FACTOR:-1}
topics=${KAFKA_HOME:-/opt/kafka}/bin/kafka-topics.sh

"$topics" --bootstrap-server "$bootstrap" --create --if-not-exists \
  --topic "$topic" --partitions "$partitions" --replication-factor "$replication"

# --describe prints one line per partition ("Topic: user_events  Partition: 0  Leader: 1 ...").
actual=$("$topics" --bootstrap-server "$bootstrap" --describe --topic "$topic" | grep -c 'Partition: ' || true)
if [ "$actual" != "$partitions" ]; then
  echo "error: topic $topic has $actual partitions, but KAFKA_PARTITIONS (the silos' Kafka:Partitions) is $partitions." >&2
  echo "Set KAFKA_PARTITIONS=$actual in .env to use the topic as it is (or delete the topic, and its events, to start anew)." >&2
  exit 1
fi
echo "topic $topic ready with $actual partitions"
