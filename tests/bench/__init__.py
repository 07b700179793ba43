"""Benchmarks: ``python -m tests.bench`` (``make bench``). Not part of the test run."""
