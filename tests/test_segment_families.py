"""Duration/silence policy and script families."""

from __future__ import annotations

import numpy as np

from robocall_bench.audio import trim_silence
from robocall_bench.corpus.features import shortcut_features
from robocall_bench.corpus.segment import fit_duration
from robocall_bench.scripts.base import Script
from robocall_bench.scripts.families import assign_families, near_duplicate_groups


def test_fit_duration_trims_cuts_and_pads():
    sr = 8000
    rng = np.random.default_rng(0)
    speech = (0.3 * rng.standard_normal(sr * 6)).astype(np.float32)
    speech[sr * 3 : sr * 3 + 800] = 0  # a pause near 3.1 s to cut at
    x = np.concatenate([np.zeros(sr * 2, np.float32), speech, np.zeros(sr, np.float32)])
    assert abs(trim_silence(x, sr).size / sr - 6.1) < 0.1
    y = fit_duration(x, sr, target_s=3.2, pad_s=(0.25, 0.5))
    assert 3.2 + 0.75 - 0.45 <= y.size / sr <= 3.2 + 0.75 + 1e-6
    f = shortcut_features(y, sr)
    assert abs(f["lead_silence"] - 0.30) < 0.05 and abs(f["trail_silence"] - 0.5) < 0.45
    short = fit_duration(speech[:4000], sr, target_s=3.2, pad_s=(0.1, 0.1))
    assert short.size == 4000 + 1600  # shorter than target: kept whole


def test_near_duplicates_share_a_family():
    texts = [
        "Hello this is an important message about your car warranty, press 1 now",
        "hello, this is an important message about your car warranty. Press 1 now!",
        "Your Amazon order of an iPhone has been placed, press 2 to cancel",
        "您好这里是快递客服中心您有一个包裹无法派送",
        "您好，这里是快递客服中心，您有一个包裹无法派送。",
    ]
    g = near_duplicate_groups(texts, 0.7)
    assert g[0] == g[1] and g[0] != g[2] and g[3] == g[4]
    scripts = [Script(f"s{i}", t, "zh" if i > 2 else "en", f"s{i}", "ftc") for i, t in enumerate(texts)]
    fam = assign_families(scripts, "ftc")
    assert fam[0].family == fam[1].family != fam[2].family and fam[3].family == fam[4].family
