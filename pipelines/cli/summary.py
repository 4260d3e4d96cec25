"""``storywire summary DIRECTORY``: the stories of a replay's file sink, as text."""

from __future__ import annotations

import os

from storywire.connectors.errors import SourceUnavailableError
from storywire.connectors.kafka.topics import TopicNames


def print_summary(directory: str, prefix: str) -> int:
    from storywire.pipelines.core.summary import read_sink, render

    if not os.path.isdir(directory):
        raise SourceUnavailableError(f"not a directory: {directory} (give the file sink directory of a replay)")
    print(render(read_sink(directory, TopicNames(prefix))))
    return 0
