"""The live (streaming) pipeline: poll feeds, fetch pages, then the same transforms as replay."""
