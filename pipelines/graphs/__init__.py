"""The two pipeline graphs, built by plain functions from a config: :mod:`.replay` (WARC archives) and :mod:`.live`
(polled feeds). They share every step after the source and end in the same sinks."""
