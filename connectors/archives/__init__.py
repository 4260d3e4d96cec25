"""WARC archives: read captured feed and page responses back for replay."""
