"""What the broker counts while its HTTP port is on: requests and their latency per API, and
messages and bytes in and out per topic.

The connection calls two hooks per request (broker/connection.py), and only while
``broker.stats`` is set (the HTTP port sets it when it starts; without it the connection
pays one attribute test per request):

- ``received(api_key, request)`` once the request is decoded: counts it, and for a Produce
  the records' bytes and count (the batch header's record count: no record is decoded);
- ``answered(api_key, response, started_ns)`` once its response is made: the latency into
  the API's histogram, and for a Fetch the bytes of records sent, from the file ranges'
  sizes (nothing is read).

Counters are plain lists indexed by API key, and one small list per topic. Kafka counts no
messages out (the records leave as file ranges, never decoded); nor does this.
"""

from __future__ import annotations

import struct
import time
from bisect import bisect_left as _bisect

from kproto.api_keys import ApiKey
from storage import validate_topic_name
from storage.errors import StorageError
from storage.results import FileSlice

# Request latency buckets, in milliseconds (the upper bounds; the last is +Inf)
LATENCY_BUCKETS_MS = (0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
_BUCKET_BOUNDS_NS = tuple(int(b * 1_000_000) for b in LATENCY_BUCKETS_MS)
_KEYS = 128                          # API keys below this are counted (Kafka's are below 100)
_RECORDS_COUNT = 57                  # where a v2 batch header keeps its record count
_BATCH_HEADER_BYTES = 61
_records_count = struct.Struct(">i").unpack_from
MESSAGES_IN, BYTES_IN, BYTES_OUT = range(3)

_perf_ns = time.perf_counter_ns
_PRODUCE, _FETCH = int(ApiKey.PRODUCE), int(ApiKey.FETCH)


class BrokerStats:
    """The counters. Read by /metrics and the console; written by the connections' hooks."""

    def __init__(self, broker):
        self._broker = broker
        self.requests = [0] * _KEYS
        self.time_ns = [0] * _KEYS                   # summed latency per API
        self.buckets = [[0] * (len(_BUCKET_BOUNDS_NS) + 1) for _ in range(_KEYS)]   # per API
        self.topics: dict[str, list[int]] = {}       # name -> [messages in, bytes in, bytes out]
        self.totals = [0, 0, 0]                      # the same, over every topic
        self._names_by_id: dict[bytes, str] = {}
        self._names_version = -1

    # -- the connection's hooks (kept short: they run for every request) ---------------

    def received(self, api_key: int, request: dict) -> int:
        """A decoded request (of an API the registry serves, so its key is below _KEYS);
        returns the time it started, for ``answered``."""
        self.requests[api_key] += 1
        if api_key == _PRODUCE:
            topics, totals = self.topics, self.totals
            for topic in request["topic_data"]:
                counters = topics.get(topic["name"])
                for part in topic["partition_data"]:
                    records = part["records"]
                    if records is None or len(records) < _BATCH_HEADER_BYTES:
                        continue
                    if counters is None:
                        counters = self._counters(topic["name"])
                        if counters is None:
                            break
                    size = len(records)
                    count = _records_count(records, _RECORDS_COUNT)[0]
                    if count < 0:       # not a batch (the append refuses it); a counter never goes down
                        count = 0
                    counters[MESSAGES_IN] += count
                    counters[BYTES_IN] += size
                    totals[MESSAGES_IN] += count
                    totals[BYTES_IN] += size
        return _perf_ns()

    def answered(self, api_key: int, response, started_ns: int) -> None:
        """Its response is made (None for acks=0 produce)."""
        elapsed = _perf_ns() - started_ns
        self.time_ns[api_key] += elapsed
        self.buckets[api_key][_bisect(_BUCKET_BOUNDS_NS, elapsed)] += 1
        if api_key == _FETCH and type(response) is dict:
            self._fetched(response)

    # -- per topic ------------------------------------------------------------------------

    def _counters(self, name: str) -> list[int] | None:
        counters = self.topics.get(name)
        if counters is None:
            # Only topics that exist, or that this produce may create: a client naming
            # garbage topics does not grow the table.
            broker = self._broker
            if broker.storage.topic(name) is None:
                if not broker.config.auto_create_topics:
                    return None
                try:
                    validate_topic_name(name)
                except StorageError:
                    return None
            counters = self.topics[name] = [0, 0, 0]
        return counters

    def _fetched(self, response: dict) -> None:
        totals = self.totals
        for topic in response["responses"]:
            size = 0
            for part in topic["partitions"]:
                records = part["records"]
                if records:
                    if type(records) is list:
                        for chunk in records:
                            size += chunk.size if type(chunk) is FileSlice else len(chunk)
                    else:
                        size += len(records)
            if not size:
                continue
            name = topic["topic"] or self._name_of(topic["topic_id"])
            counters = self.topics.get(name) if name else None
            if counters is None and name:
                counters = self._counters(name)
            if counters is not None:
                counters[BYTES_OUT] += size
            totals[BYTES_OUT] += size

    def _name_of(self, topic_id: bytes) -> str | None:
        """A topic's name from its id (Fetch v13+), through a table made once per change of topics."""
        storage = self._broker.storage
        if self._names_version != storage.topics_version:
            self._names_by_id = {info.topic_id.bytes: name for name, info in storage.topics().items()}
            self._names_version = storage.topics_version
        return self._names_by_id.get(bytes(topic_id))

    def forget_deleted(self) -> None:
        """Drop the counters of topics that no longer exist (a scrape shows live topics only)."""
        topics = self._broker.storage.topics()
        for name in [n for n in self.topics if n not in topics]:
            del self.topics[name]
