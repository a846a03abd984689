"""Persistence behind one Store protocol: sqlite (embedded default) and redis (production)."""
