"""Benchmarks: settings, the timing harness, memory, the environment, the run and the report."""
