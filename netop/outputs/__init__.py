"""Snapshot sinks: what netop feeds elsewhere (a recording, Prometheus, flow
collectors, alert actions). Each implements :class:`netop.engine.sinks.SnapshotSink`
and is built by ``netop.commands.pipeline.build_sinks``."""
