"""The Beam side: thin DoFns and PTransforms around the pure cores, the sinks and the live source.

Each module adapts one core; dead letters leave every step on a tagged output (:mod:`.common`)."""
