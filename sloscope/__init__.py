"""sloscope."""
