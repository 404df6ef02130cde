"""Benchmarks: each prints its timings and ratios against a baseline measured in the same run."""
