"""Digests: channel and personal subscriptions, when each is due, and what a digest says."""
