"""RSS/Atom feeds: parsing (and, for live runs, polling)."""
