"""What the push receivers (syslog, traps) share: sockets, allow-list, rate limit."""
