"""The optional C extension (``_fastflow``) and its loader: packet parsing and flow
aggregation for the capture, the flow-table merge for the engine. A leaf: it imports
only the standard library, so both layers may use it."""
