"""Standardized evaluation: score files in, every metric with confidence intervals out.

``core`` holds the metrics (pure numpy + scipy); protocol.tsv and score files are read and
checked by ``robocall_bench.contract``; ``bootstrap`` adds cluster-bootstrap CIs; ``run`` orchestrates; ``report`` writes the outputs.
"""
