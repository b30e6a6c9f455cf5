"""Syslog receiver (RFC 5424 / RFC 3164 over UDP and TCP) as a netop source."""
