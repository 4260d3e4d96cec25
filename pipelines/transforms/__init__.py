"""Beam adapters around the pure cores: each DoFn is thin, each failure a dead letter."""
