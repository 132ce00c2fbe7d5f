"""Training and scoring: one Lightning engine for every torch detector, a fit path for lfcc_gmm.

``preprocess`` turns any audio into the model input (16 kHz, level-normalised); ``data`` and
``sampler`` feed training deterministically; ``module``/``callbacks``/``checkpoint``/``engine``
train; ``scoring``/``inputs`` score files; ``rundir``/``card`` write a run directory; ``cli`` and
``score_cli`` are ``rcb train`` and ``rcb score``.
"""
