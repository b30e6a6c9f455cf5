"""SNMP trap and inform receiver (v1, v2c, v3 with netop's USM) as a netop source."""
