"""``kbroker COMMAND``: topics, produce, consume, groups, offsets against any Kafka cluster.

Each command is a module with ``main(argv) -> exit code``, named in broker/cli.py's COMMANDS.
They speak the Kafka protocol through kproto over plain sockets (client.py): no client library.
Output is a table for people, or JSON with ``--json``; an error is one line on stderr and a
non-zero exit code (with the traceback only under ``--log-level DEBUG``).
"""
