"""Score-level fusion of detectors (e.g. a per-call detector and the campaign fingerprint)."""
