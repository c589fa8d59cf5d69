"""Pieces of ``benchmarks/dpo_throughput.py`` (synthetic pairs, probes, workers, report)."""
