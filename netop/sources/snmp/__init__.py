"""SNMP polling (v1/v2c/v3) of remote interfaces: targets, poller, source.

Wiring: :func:`netop.sources.snmp.source.snmp_source_from_args` gives the TUI its
:class:`~netop.sources.snmp.source.SnmpSource`; ``netop snmp`` runs the same poller
headless (:mod:`netop.commands.snmp`).
"""
