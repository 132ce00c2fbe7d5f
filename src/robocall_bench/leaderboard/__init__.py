"""The leaderboard: entries (entry.yaml + per-track score files) validated, recomputed and published.

``schema`` defines entry.yaml; ``safeyaml`` loads it defensively; ``registry`` holds the
maintainer-owned records (registered corpora, reproductions); ``validate`` checks an entry against
them and recomputes its metrics; ``integrity`` finds copied entries; ``build`` ranks entries per
corpus and writes README.md/CSV (``render``), JSON and ``site``'s page, escaping contributor text
with ``escape``; ``reproduce`` re-runs an entry's recorded recipe through ``sandbox``;
``examples`` generates the example entries; ``from_run`` turns a training run into an entry.
"""
