"""The live engine, pure Python: poll feeds, fetch new pages, checkpoint; and the stop signal the Beam source
watches. The Beam source around it is :mod:`storywire.pipelines.beam.live_source`."""
