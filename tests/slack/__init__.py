"""Tests: slack."""
