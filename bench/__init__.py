"""Benchmarks: `make bench`. Each compares our code with a baseline measured in the same run."""
