"""Security as Kafka does it: listeners and their protocols, TLS, SASL, principals, ACLs.

- ``listeners``: Kafka's ``listeners``/``advertised.listeners``/``listener.security.protocol.map``.
- ``settings``: the ssl.*, sasl.* and authorizer keys, per listener (``listener.name.<name>.<key>``).
- ``tls``: an ``ssl.SSLContext`` per TLS listener from Kafka's PEM keystore and truststore keys.
- ``principal``: who a connection is: ``User:ANONYMOUS``, a client certificate's subject
  mapped by ``ssl.principal.mapping.rules``, or the SASL user.
- ``sasl``, ``plain``, ``scram``, ``oauthbearer``: the SASL exchange of a connection and its mechanisms.
- ``credentials``: SCRAM credentials as Kafka stores them, kept in the data directory.
- ``acls``, ``authorizer``: ACL bindings and filters, the store kept in the data directory,
  and the decisions (deny wins, super users, allow.everyone.if.no.acl.found).
"""
