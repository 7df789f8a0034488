"""Golden frames written out by hand from the protocol guide's layouts.

Each ``Golden`` is one whole frame as hex, with the header and body it decodes to
(test_golden.py checks the round trip, test_truncation.py cuts and pads them). The hex
is annotated field by field, so these double as worked examples of the wire
format: int16 lengths and int32 counts before the flexible versions; unsigned
varint length + 1 and count + 1 from them, plus a tagged-field section (count,
then tag, size, bytes) closing every struct; request header v1 (client id an
int16-length nullable string) below the flexible versions and v2 (the same
client id, never compact, then a tag section) from them; response header v0
(correlation id) and v1 (plus a tag section), except ApiVersions, always v0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ZERO_UUID = bytes(16)


@dataclass(frozen=True)
class Golden:
    name: str
    api_key: int
    version: int
    hex: str
    header: Any  # request: the request header dict; response: the correlation id
    body: dict


GOLDEN_REQUESTS = [
    Golden("api_versions_v0_request", 18, 0,
           "0000000e"       # size 14
           "0012"           # request_api_key 18
           "0000"           # request_api_version 0
           "00000001"       # correlation_id 1
           "0004 74657374",  # client_id "test" (header v1)
           {"request_api_key": 18, "request_api_version": 0, "correlation_id": 1, "client_id": "test"},
           {"client_software_name": "", "client_software_version": ""}),
    Golden("api_versions_v3_request", 18, 3,
           "0000001b"       # size 27
           "0012 0003 00000002"
           "0006 6b70726f746f"  # client_id "kproto": int16 length even in header v2
           "00"             # header v2 tag section: none
           "05 6b636174"    # client_software_name "kcat": compact, length 4 + 1
           "04 312e30"      # client_software_version "1.0"
           "00",            # body tag section: none
           {"request_api_key": 18, "request_api_version": 3, "correlation_id": 2, "client_id": "kproto"},
           {"client_software_name": "kcat", "client_software_version": "1.0"}),
    Golden("heartbeat_v4_request", 12, 4,
           "0000001d"       # size 29
           "000c 0004 00000003"
           "0003 636c69"    # client_id "cli"
           "00"             # header tag section
           "03 6731"        # group_id "g1"
           "00000005"       # generation_id 5
           "02 6d"          # member_id "m"
           "00"             # group_instance_id null (compact nullable: 0)
           "01"             # tag section: one field
           "07 02 abcd",    # tag 7 (unknown here), 2 bytes
           {"request_api_key": 12, "request_api_version": 4, "correlation_id": 3, "client_id": "cli"},
           {"group_id": "g1", "generation_id": 5, "member_id": "m", "group_instance_id": None,
            "_unknown_tagged_fields": {7: b"\xab\xcd"}}),
    Golden("heartbeat_v0_request", 12, 0,
           "0000001d"       # size 29
           "000c 0000 00000009"
           "ffff"           # client_id null
           "0005 67726f7570"  # group_id "group"
           "ffffffff"       # generation_id -1
           "0006 6d656d626572",  # member_id "member"
           {"request_api_key": 12, "request_api_version": 0, "correlation_id": 9, "client_id": None},
           {"group_id": "group", "generation_id": -1, "member_id": "member", "group_instance_id": None}),
    Golden("metadata_v0_request", 3, 0,
           "00000015"       # size 21
           "0003 0000 00000004"
           "ffff"           # client_id null
           "00000001"       # topics: one
           "0005 746f706963",  # name "topic"
           {"request_api_key": 3, "request_api_version": 0, "correlation_id": 4, "client_id": None},
           {"topics": [{"topic_id": ZERO_UUID, "name": "topic"}], "allow_auto_topic_creation": True,
            "include_cluster_authorized_operations": False, "include_topic_authorized_operations": False}),
    Golden("metadata_v1_request_all_topics", 3, 1,
           "0000000e"       # size 14
           "0003 0001 00000005"
           "0000"           # client_id ""
           "ffffffff",      # topics null: all topics (nullable from v1)
           {"request_api_key": 3, "request_api_version": 1, "correlation_id": 5, "client_id": ""},
           {"topics": None, "allow_auto_topic_creation": True,
            "include_cluster_authorized_operations": False, "include_topic_authorized_operations": False}),
]

GOLDEN_RESPONSES = [
    Golden("api_versions_v0_response", 18, 0,
           "00000016"       # size 22
           "00000001"       # correlation_id 1
           "0000"           # error_code 0
           "00000002"       # api_keys: two
           "0012 0000 0004"  # ApiVersions 0-4
           "0003 0000 000c",  # Metadata 0-12
           1,
           {"error_code": 0, "throttle_time_ms": 0,
            "api_keys": [{"api_key": 18, "min_version": 0, "max_version": 4},
                         {"api_key": 3, "min_version": 0, "max_version": 12}],
            "supported_features": [], "finalized_features_epoch": -1, "finalized_features": [],
            "zk_migration_ready": False}),
    Golden("api_versions_v3_response", 18, 3,
           "0000001d"       # size 29
           "00000002"       # correlation_id 2; header v0 although v3 is flexible
           "0000"           # error_code 0
           "02"             # api_keys: compact, one
           "0012 0000 0004 00"  # ApiVersions 0-4, its tag section
           "00000000"       # throttle_time_ms 0
           "01"             # tag section: one field
           "01 08 0000000000000005",  # tag 1 finalized_features_epoch, 8 bytes: 5
           2,
           {"error_code": 0, "throttle_time_ms": 0,
            "api_keys": [{"api_key": 18, "min_version": 0, "max_version": 4}],
            "supported_features": [], "finalized_features_epoch": 5, "finalized_features": [],
            "zk_migration_ready": False}),
    Golden("heartbeat_v4_response", 12, 4,
           "0000000c"       # size 12
           "00000003 00"    # correlation_id 3, header v1 tag section
           "00000000"       # throttle_time_ms 0
           "001b"           # error_code 27 REBALANCE_IN_PROGRESS
           "00",            # tag section
           3,
           {"throttle_time_ms": 0, "error_code": 27}),
    Golden("metadata_v0_response", 3, 0,
           "00000046"       # size 70
           "00000004"       # correlation_id 4
           "00000001"       # brokers: one
           "00000001 0009 6c6f63616c686f7374 00002384"  # node 1 "localhost" 9092
           "00000001"       # topics: one
           "0000 0005 746f706963"  # error_code 0, name "topic"
           "00000001"       # partitions: one
           "0000 00000000 00000001"  # error_code 0, partition_index 0, leader_id 1
           "00000001 00000001"  # replica_nodes [1]
           "00000001 00000001",  # isr_nodes [1]
           4,
           {"throttle_time_ms": 0,
            "brokers": [{"node_id": 1, "host": "localhost", "port": 9092, "rack": None}],
            "cluster_id": None, "controller_id": -1,
            "topics": [{"error_code": 0, "name": "topic", "topic_id": ZERO_UUID, "is_internal": False,
                        "partitions": [{"error_code": 0, "partition_index": 0, "leader_id": 1, "leader_epoch": -1,
                                        "replica_nodes": [1], "isr_nodes": [1], "offline_replicas": []}],
                        "topic_authorized_operations": -2147483648}],
            "cluster_authorized_operations": -2147483648, "error_code": 0}),
    Golden("fetch_v12_response", 1, 12,
           "0000003a"       # size 58
           "00000007 00"    # correlation_id 7, header v1 tag section
           "00000000 0000 00000000"  # throttle_time_ms, error_code, session_id
           "02"             # responses: one
           "02 74"          # topic "t"
           "02"             # partitions: one
           "00000000 0000"  # partition_index 0, error_code 0
           "000000000000000a"  # high_watermark 10
           "000000000000000a"  # last_stable_offset 10
           "0000000000000000"  # log_start_offset 0
           "00"             # aborted_transactions null
           "ffffffff"       # preferred_read_replica -1
           "01"             # records: empty (length 0 + 1)
           "00"             # partition tag section: no diverging_epoch, current_leader, snapshot_id
           "00"             # topic tag section
           "00",            # response tag section
           7,
           {"throttle_time_ms": 0, "error_code": 0, "session_id": 0, "node_endpoints": [],
            "responses": [{"topic": "t", "topic_id": ZERO_UUID, "partitions": [{
                "partition_index": 0, "error_code": 0, "high_watermark": 10, "last_stable_offset": 10,
                "log_start_offset": 0, "aborted_transactions": None, "preferred_read_replica": -1,
                "records": b"",
                "diverging_epoch": {"epoch": -1, "end_offset": -1},
                "current_leader": {"leader_id": -1, "leader_epoch": -1},
                "snapshot_id": {"end_offset": -1, "epoch": -1}}]}]}),
]
