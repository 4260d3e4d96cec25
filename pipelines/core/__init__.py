"""Pure cores of the pipeline (no Beam): normalising pages into articles, revisions, pairing archived feed items
with pages, building and fitting Kafka messages, reading a file sink back for summaries."""
