"""collector/store."""
