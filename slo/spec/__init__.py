"""SLO specs: native YAML, OpenSLO v1 and Sloth ``prometheus/v1`` read into one model."""
