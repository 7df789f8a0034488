"""The controller: pure decisions (``election``, ``assignment``, ``state``) and the shell that
reads and writes ZooKeeper and talks to the brokers (``controller``). This module imports nothing."""
