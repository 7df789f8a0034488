"""The consumer embedded protocol: a group's subscribed topics, and (below) the whole
subscription and assignment for the online migration of KIP-848 groups.

A "consumer" group's JoinGroup metadata is a ConsumerProtocolSubscription prefixed
by an int16 version. Every version starts with the v0 layout:
``topics: [string]`` (int32 count, each int16 length + UTF-8) then
``user_data: nullable bytes`` (int32 length, -1 for null); later versions append
fields, which are ignored here. Kafka parses the same v0 prefix whatever the
version (ClassicGroup.computeSubscribedTopics), and gives up on a parse error.
"""

from __future__ import annotations

import struct

PROTOCOL_TYPE = "consumer"


class SubscriptionParseError(ValueError):
    pass


def subscribed_topics(metadata: bytes) -> list[str]:
    """Topics of one member's subscription; raises SubscriptionParseError if malformed."""
    try:
        pos = 2  # int16 version, any value
        if len(metadata) < pos:
            raise SubscriptionParseError("truncated version")
        (count,) = struct.unpack_from(">i", metadata, pos)
        pos += 4
        if count < 0:
            raise SubscriptionParseError("null topic array")
        topics = []
        for _ in range(count):
            (length,) = struct.unpack_from(">h", metadata, pos)
            pos += 2
            if length < 0 or pos + length > len(metadata):
                raise SubscriptionParseError("bad topic name")
            topics.append(metadata[pos:pos + length].decode("utf-8"))
            pos += length
        (user_data_length,) = struct.unpack_from(">i", metadata, pos)
        pos += 4
        if user_data_length < -1 or pos + max(user_data_length, 0) > len(metadata):
            raise SubscriptionParseError("bad user data")
        return topics
    except (struct.error, UnicodeDecodeError) as e:
        raise SubscriptionParseError(str(e)) from e


# -- the whole embedded protocol, for KIP-848's online migration ----------------------
#
# A classic member of a KIP-848 consumer group (and every member of a classic group the
# group is converted from or to) speaks ConsumerProtocolSubscription / Assignment
# (Kafka's clients/src/main/resources/common/message/ConsumerProtocol*.json): not
# flexible, an int16 version first. Subscription v0: topics, user_data; v1 adds
# owned_partitions; v2 generation_id; v3 rack_id. Assignment v0-3: assigned_partitions,
# user_data. A version newer than these is read as the newest known, as Kafka does.

ASSIGNMENT_HIGHEST_VERSION = 3
TopicPartitions = list[tuple[str, list[int]]]


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self, nullable: bool = False) -> str | None:
        length = self.take(">h")
        if length < 0:
            if nullable:
                return None
            raise SubscriptionParseError("null string")
        if self.pos + length > len(self.data):
            raise SubscriptionParseError("truncated string")
        value = self.data[self.pos:self.pos + length].decode("utf-8")
        self.pos += length
        return value

    def bytes_(self) -> bytes | None:
        length = self.take(">i")
        if length < 0:
            return None
        if self.pos + length > len(self.data):
            raise SubscriptionParseError("truncated bytes")
        value = bytes(self.data[self.pos:self.pos + length])
        self.pos += length
        return value

    def count(self) -> int:
        n = self.take(">i")
        if n < 0 or n > len(self.data):
            raise SubscriptionParseError("bad array length")
        return n

    def topic_partitions(self) -> TopicPartitions:
        out = []
        for _ in range(self.count()):
            topic = self.string()
            out.append((topic, [self.take(">i") for _ in range(self.count())]))
        return out


class Subscription:
    """A decoded ConsumerProtocolSubscription."""
    __slots__ = ("version", "topics", "user_data", "owned_partitions", "generation_id", "rack_id")

    def __init__(self, version, topics, user_data, owned_partitions, generation_id, rack_id):
        self.version, self.topics, self.user_data = version, topics, user_data
        self.owned_partitions, self.generation_id, self.rack_id = owned_partitions, generation_id, rack_id


def decode_subscription(metadata: bytes) -> Subscription:
    """The whole subscription; SubscriptionParseError if malformed."""
    try:
        r = _Reader(bytes(metadata))
        version = r.take(">h")
        if version < 0:
            raise SubscriptionParseError(f"bad version {version}")
        topics = [r.string() for _ in range(r.count())]
        user_data = r.bytes_()
        owned = r.topic_partitions() if version >= 1 else []
        generation_id = r.take(">i") if version >= 2 else -1
        rack_id = r.string(nullable=True) if version >= 3 else None
        return Subscription(version, topics, user_data, owned, generation_id, rack_id)
    except (struct.error, UnicodeDecodeError) as e:
        raise SubscriptionParseError(str(e)) from e


def metadata_version(metadata: bytes) -> int:
    """The version a subscription is written in (Kafka's ConsumerProtocol.deserializeVersion)."""
    if len(metadata) < 2:
        raise SubscriptionParseError("truncated version")
    return struct.unpack_from(">h", metadata)[0]


def decode_assignment(data: bytes) -> tuple[TopicPartitions, bytes | None]:
    """A ConsumerProtocolAssignment's partitions and user data; SubscriptionParseError if malformed."""
    try:
        r = _Reader(bytes(data))
        if r.take(">h") < 0:
            raise SubscriptionParseError("bad version")
        return r.topic_partitions(), r.bytes_()
    except (struct.error, UnicodeDecodeError) as e:
        raise SubscriptionParseError(str(e)) from e


def encode_assignment(version: int, partitions: TopicPartitions) -> bytes:
    """A ConsumerProtocolAssignment without user data, at ``version`` (capped at the newest)."""
    version = min(max(version, 0), ASSIGNMENT_HIGHEST_VERSION)
    out = [struct.pack(">hi", version, len(partitions))]
    for topic, parts in partitions:
        name = topic.encode()
        out.append(struct.pack(">h", len(name)) + name + struct.pack(">i", len(parts)))
        out.append(struct.pack(f">{len(parts)}i", *parts))
    out.append(struct.pack(">i", -1))
    return b"".join(out)
