"""The processing side of storywire, one folder per role (``docs/architecture.md``).

Pure Python, no Beam (what unit tests and benchmarks call directly):

- :mod:`.core`: page -> article, revisions, replay pairing, Kafka message building and delivery rules, summaries;
- :mod:`.stories`: story clustering (the online assignment core);
- :mod:`.live`: the live engine (poll feeds, fetch pages) and its stop signal;
- :mod:`.config`: frozen, validated run configuration (replay and live YAML).

Beam:

- :mod:`.beam`: thin DoFns and PTransforms around the cores, the sinks, the live source;
- :mod:`.graphs`: the replay and the live graph, side by side.

:mod:`.cli` is the ``storywire`` command line; :mod:`.bundled` holds the demo's sample archive.
"""
