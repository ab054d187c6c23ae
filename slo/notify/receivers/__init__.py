"""Receivers: webhook (Alertmanager's version-4 JSON), Slack and email, over a transport."""
