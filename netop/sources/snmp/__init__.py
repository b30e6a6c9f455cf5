"""SNMP polling (v1/v2c/v3) of remote interfaces: targets, poller, source.

One stack, netop's own: :mod:`~netop.sources.snmp.ber` (the BER codec),
:mod:`~netop.sources.snmp.community` (v1/v2c sessions), :mod:`~netop.sources.snmp.usm`
(v3 sessions: USM authentication and privacy) and :mod:`~netop.sources.snmp.walk`
(what every session shares).

Wiring: :func:`netop.sources.snmp.source.snmp_source_from_args` gives the TUI its
:class:`~netop.sources.snmp.source.SnmpSource`; ``netop snmp`` runs the same poller
headless (:mod:`netop.commands.snmp`).
"""
