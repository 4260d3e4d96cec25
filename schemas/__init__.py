"""Versioned message schemas (JSON Schema files in ``v1/``), typed records and the orjson codec."""

from storywire.schemas.codec import DecodeError, decode, encode, to_dict
from storywire.schemas.records import SCHEMA_VERSION, Article, DeadLetter, Story, StoryEvent, parse_time

__all__ = [
    "SCHEMA_VERSION",
    "Article",
    "DeadLetter",
    "DecodeError",
    "Story",
    "StoryEvent",
    "decode",
    "encode",
    "parse_time",
    "to_dict",
]
