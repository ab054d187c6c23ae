"""Rule manager: Prometheus-format rule files, evaluation, alert state, unit tests."""
