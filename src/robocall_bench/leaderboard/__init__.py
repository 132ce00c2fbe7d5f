"""The leaderboard: entries (entry.yaml + per-track score files) validated, recomputed and published.

``schema`` defines entry.yaml; ``safeyaml`` loads it defensively; ``validate`` checks an entry and
recomputes its metrics; ``build`` ranks entries and writes README.md, CSV, JSON and ``site``'s page;
``reproduce`` re-runs an entry's recorded recipe; ``examples`` generates the example entries.
"""
