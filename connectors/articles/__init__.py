"""Article pages: from an HTTP response to extracted text and metadata."""
