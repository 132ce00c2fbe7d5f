"""Standardized evaluation: score files in, every metric with confidence intervals out.

``core`` holds the metrics (pure numpy + scipy); ``scorefile``/``protocol`` validate inputs;
``bootstrap`` adds cluster-bootstrap CIs; ``run`` orchestrates; ``report`` writes the outputs.
"""
