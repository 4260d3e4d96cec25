"""storywire: streaming news monitoring on Apache Beam.

Feeds and WARC archives in; articles, stories and story events out, to Kafka topics and JSONL files.
The installed package has three parts, each a folder at the top of the repository (``storywire/`` links them
into one namespace, see ``docs/architecture.md``):

- :mod:`storywire.connectors`: the outside world (HTTP, feeds, articles, archives, Kafka), pure Python;
- :mod:`storywire.pipelines`: the pure cores (``core``, ``stories``, ``live``), their Beam adapters (``beam``),
  the replay and live graphs (``graphs``), configuration (``config``) and the command line (``cli``);
- :mod:`storywire.schemas`: the versioned message schemas, typed records and their codec.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("storywire")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
