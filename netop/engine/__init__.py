"""The engine: owns all state and builds one immutable Snapshot per tick (never imports Textual)."""
