"""The HTTP edge: REST API under /api/v1, ops pages, health and metrics. Nothing imports it."""
