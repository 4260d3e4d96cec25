"""``--set NAME=VALUE`` of the story benchmarks (bench/config_override.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bench.config_override import story_config
from storywire.pipelines.stories import StoryConfig

pytestmark = pytest.mark.slow  # tests of the benchmarks (bench/), not of the product


def test_values_take_the_type_of_the_default() -> None:
    config = story_config(["merge_threshold=none", "dormancy=72h", "max_candidates=4", "threshold=0.3"])
    assert config.merge_threshold is None and config.dormancy == timedelta(hours=72)
    assert config.max_candidates == 4 and config.threshold == 0.3
    assert story_config([]) == StoryConfig()
    assert story_config(["merge_threshold=0.25"]).merge_threshold == 0.25  # a float where the default may be None


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("mergethreshold=0.2", "expected NAME=VALUE with NAME one of: .*merge_threshold"),
        ("threshold", "expected NAME=VALUE"),
        ("dormancy=48", "expected a duration such as 72h"),
        ("max_candidates=two", "expected a whole number"),
        ("threshold=2", r"threshold must be in \(0, 1\]"),  # StoryConfig's own validation
    ],
)
def test_bad_overrides_say_what_is_wrong(item: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        story_config([item])
