"""Detectors (config group ``model/``): one file per model, one contract (see base.py)."""
