"""Just enough of the consumer embedded protocol to learn a group's subscribed topics.

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
