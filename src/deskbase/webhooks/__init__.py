"""Signed webhooks per organization, delivered from the outbox (docs/webhooks.md)."""
