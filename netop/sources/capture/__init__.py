"""Packet capture source: the privileged child (ring, aggregation), its launcher and
options, and offline files. Never imports Textual."""
