"""Sources: the parts of netop that do I/O and produce plain records (never import Textual)."""
