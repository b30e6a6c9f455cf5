"""Detection in the engine: baselines, attacks, the watchlist and deduplicated alerts.

Every source's data passes here (captured, read from a file, exported, polled): the
engine hands :class:`~netop.engine.detect.detector.Detector` each tick's interface
rates and moved flows, and carries the alerts in the snapshot.
"""
