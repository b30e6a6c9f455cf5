"""The Textual user interface: reads snapshots, never owns state."""
