#!/bin/bash
# kafka-run-class.sh CLASS [args]: a Kafka command-line tool on the jars in /opt/kafka/libs.
# Short-lived tools start faster without the C2 compiler; warnings go to stderr.
read -r -a heap <<<"${KAFKA_TOOLS_HEAP_OPTS:--Xmx128m}"
exec java "${heap[@]}" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
  -Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.properties -cp '/opt/kafka/libs/*' "$@"
