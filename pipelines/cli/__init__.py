"""The ``storywire`` command line: :mod:`.main` parses and dispatches; one module per command group."""
