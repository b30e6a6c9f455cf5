"""Enrichment of flows: owning processes and host names."""
