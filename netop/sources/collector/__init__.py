"""Flow collector: NetFlow v5/v9, IPFIX and sFlow v5 received on UDP.

Public API (see :mod:`netop.sources.collector.source`): ``CollectorSource``,
``add_collector_arguments(parser)`` and ``collector_source_from_args(args, config)``.
The decoding core (:class:`~netop.sources.collector.decoder.Collector`) works without
sockets for tests, pcap replays and the benchmark.
"""
