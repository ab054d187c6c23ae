"""Pure conversions from wire formats to samples, spans and events (no I/O, no Flask)."""
