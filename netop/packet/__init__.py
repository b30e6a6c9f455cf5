"""Packets: frame decoding, pcap/pcapng files, BPF, per-packet dissection, flow-key rules."""
