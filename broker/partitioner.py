"""Where Kafka's Java client puts a keyed record: murmur2 of the key, made positive, modulo the
partition count (its default partitioner). The CLI's produce and the console's use it, so a
record lands where a Java producer's would. And Java's String.hashCode, by which Kafka's
coordinators pick the partition of an internal topic a group, transactional id or
share-partition lives in (``coordinator_partition``)."""


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (Utils.murmur2), as its default partitioner hashes keys."""
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rest = length % 4
    tail = length - rest
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def partition_for_key(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def java_string_hash(text: str) -> int:
    """Java's String.hashCode, over UTF-16 code units, as a signed 32-bit int."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def coordinator_partition(key: str, partitions: int) -> int:
    """The partition of an internal topic a coordinator keeps ``key`` in, as Kafka's
    partitionFor computes it for a group id (``__consumer_offsets``), a transactional id
    (``__transaction_state``) and a share-partition's "group:topicId:partition"
    (``__share_group_state``): ``Utils.abs(key.hashCode()) % partitions``, where Utils.abs
    of Integer.MIN_VALUE is 0. Not the sign bit masked off: the two differ for every key whose
    hash is negative."""
    h = java_string_hash(key)
    return (0 if h == -(1 << 31) else abs(h)) % partitions


def legacy_coordinator_partition(key: str, partitions: int) -> int:
    """Where kbroker before coordinator_partition kept ``key``: the hash with its sign bit
    masked off. Only the loaders of __consumer_offsets and __share_group_state use it, to find
    and move what an older kbroker wrote there."""
    return (java_string_hash(key) & 0x7FFFFFFF) % partitions
