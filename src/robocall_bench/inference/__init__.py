"""Scoring without training: any audio (a folder, a file list or a protocol) -> a score file.

``inputs`` finds what to score; ``preprocess`` turns any audio into the model input (16 kHz,
level-normalised); ``evaldata`` reads it (first seconds, long files as windows, errors as items);
``longaudio`` scores long calls in fixed memory; ``checkpoint`` reads and writes checkpoints;
``scoring`` loads a checkpoint through the model allowlist and scores; ``score_cli`` is ``rcb score``.
Training, evaluation, the leaderboard and benchmarks use this package; it imports nothing from them.
"""
