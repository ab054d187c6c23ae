"""Receivers: the collector's HTTP and gRPC entry points that validate, limit and store."""
