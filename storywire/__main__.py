"""``python -m storywire``: the same command line as ``storywire``."""

from storywire.pipelines.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
