"""Benchmarks that reproduce the figures in BENCHMARKS.md (run from the repo root)."""
