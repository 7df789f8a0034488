"""Cluster mode: several kbroker processes, partitions replicated among them, led by a
controller elected through ZooKeeper, as Apache Kafka's ZooKeeper mode did it.

Imported only when ``zookeeper.connect`` is set: one broker with no arguments loads none
of it (nor kazoo). Keep it so: this module imports nothing.
"""
