"""Widgets the panes and screens are made of (no knowledge of the engine)."""
