#!/usr/bin/env python
"""Generate the example leaderboard entries from a corpus (no hand-written numbers).

    python leaderboard/make_examples.py corpus=data/tiny            # run from the repository root
    rcb leaderboard build                                            # then rebuild the outputs

Copies the corpus's protocol.tsv + manifest.json to leaderboard/protocols/<name>-<version>/,
registers it (kind example) in leaderboard/registry.yaml and writes leaderboard/entries/{spectral-flatness,pitch-variance}/ (entry.yaml + scores/<track>.tsv),
scoring the eval tracks with two deterministic heuristics read from the FLAC audio.
With ``only=ID scores_out=DIR`` it only writes one scorer's score files (used by
``rcb leaderboard reproduce``).
"""

import os
import sys

from robocall_bench.errors import RcbError
from robocall_bench.leaderboard.examples import main

if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        sys.exit(main(sys.argv[1:]))
    except RcbError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
