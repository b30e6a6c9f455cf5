"""Packet capture: ring, BPF, decoder, pcap files, the capture child (never imports Textual)."""
