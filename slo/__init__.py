"""SLO engine: specs (native, OpenSLO v1, Sloth), compilation to Prometheus rules, the rule
manager, the notifier and budget analytics. Imports ``collector`` only."""
