"""Fault drills: kill -9, a flaky Slack, a locked database, a flood of bad requests."""
