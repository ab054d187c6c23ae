"""Notifier: Alertmanager's routing, grouping, silences and inhibition; receivers; outbox."""
