"""Training: one Lightning engine for every torch detector, a fit path for lfcc_gmm.

``data`` and ``sampler`` feed training deterministically; ``module``/``callbacks``/``engine`` train;
``rundir``/``card`` write a run directory; ``cli`` is ``rcb train``. Scoring lives in ``inference``.
"""
