"""The consumer side of the latency test, in its own process (no GIL shared with the producer).

    python -m bench.latency_consumer BOOTSTRAP TOPIC COUNT

Prints "ready" once assigned and polling, then, after COUNT messages (or 10 s of
silence), one JSON list: for each message, now minus the CLOCK_MONOTONIC
nanoseconds the producer wrote in its value, in seconds.
"""

from __future__ import annotations

import json
import sys
import time
import uuid

from confluent_kafka import Consumer, TopicPartition


def main() -> int:
    bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    while True:   # the producer's warm-up message
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            break
    print("ready", flush=True)
    latencies = []
    last = time.monotonic()
    while len(latencies) < count and time.monotonic() - last < 10:
        msg = consumer.poll(0.1)
        if msg is not None and msg.error() is None:
            latencies.append((time.monotonic_ns() - int(msg.value())) / 1e9)
            last = time.monotonic()
    consumer.close()
    print(json.dumps(latencies), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
