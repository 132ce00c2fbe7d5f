"""Shared fixtures: a synthetic corpora root generated in a temp folder (offline, seconds)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpora"
# The published AASIST / AASIST-L weights (clovaai/aasist models/weights/), next to the checkout.
SHARED_AASIST = Path(__file__).resolve().parents[2] / "shared" / "models" / "aasist-asvspoof2019la"

ROBOCALLS = [
    (
        "en",
        "Hello, this is an important message about your car's extended warranty. Press 1 to speak to a specialist now.",
    ),
    (
        "en",
        "This call is to inform you that a pre-authorized order has been placed on your name. Press 1 to cancel it.",
    ),
    (
        "en",
        "Hello, this call is from the tax office. There is a lawsuit filed against you. Call us back immediately.",
    ),
    (
        "en",
        "Congratulations, you have been selected for a free cruise to the Bahamas. Press 1 to claim your prize.",
    ),
    (
        "en",
        "We noticed suspicious activity on your bank account. Please press 1 to talk to our fraud department.",
    ),
    (
        "en",
        "Your parcel could not be delivered because the address was incomplete. Press 9 to reschedule the delivery.",
    ),
    ("zh", "您好，这里是快递客服中心，您有一个包裹无法派送，请按一查询详情。"),
    ("zh", "您好，您的银行账户存在异常交易，请按九转人工客服处理。"),
]


def speechlike(sr: int, seconds: float, rng: np.random.Generator, f0: float) -> np.ndarray:
    """A voiced-speech stand-in: harmonics of a wandering f0, syllable-rate envelope, short pauses."""
    t = np.arange(int(sr * seconds)) / sr
    f = f0 * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    x = sum((0.6 / k) * np.sin(k * phase) for k in range(1, 12) if k * f0 < sr / 2.2)
    env = np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t) + 0.3, 0, None)
    x = x * env + 0.002 * rng.standard_normal(t.size)
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def make_corpora_root(root: Path, seed: int = 0) -> Path:
    """Write a tiny corpora root with the real layout: LibriSpeech, AISHELL, FSDD, FTC, noise."""
    rng = np.random.default_rng(seed)
    ls = root / "librispeech-sample" / "train-clean-100"
    ls.mkdir(parents=True)
    lines = [";ID |SEX| SUBSET | MINUTES | NAME"]
    for i, spk in enumerate((101, 102, 103, 104, 105, 106, 107, 108)):
        lines.append(f"{spk} | {'FM'[i % 2]} | train-clean-100 | 25.0 | Reader {spk}")
        for u in range(2):
            sf.write(
                ls / f"{spk}-5-000{u}.flac", speechlike(16000, rng.uniform(3, 9), rng, 100 + 15 * i), 16000
            )
    (ls / "SPEAKERS.TXT").write_text("\n".join(lines) + "\n")
    ai = root / "aishell-sample"
    (ai / "audio").mkdir(parents=True)
    rows = ["utt_id\tspeaker\tseconds\ttext"]
    for s, spk in enumerate(("S0001", "S0002", "S0003")):
        for u in range(4):
            uid = f"BAC009{spk}W{u:04d}"
            sf.write(
                ai / "audio" / f"{uid}.flac", speechlike(16000, rng.uniform(2, 4), rng, 180 + 20 * s), 16000
            )
            rows.append(f"{uid}\t{spk}\t3.0\t今天天气很好我们出去走走第{u}次")
    (ai / "transcripts.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    fs = root / "fsdd" / "recordings"
    fs.mkdir(parents=True)
    for s, spk in enumerate(("jackson", "nicolas", "theo", "lucas")):
        for d in range(10):
            sf.write(
                fs / f"{d}_{spk}_0.wav", speechlike(8000, rng.uniform(0.3, 0.6), rng, 120 + 10 * s), 8000
            )
    (root / "fsdd" / "speakers.csv").write_text(
        "speaker,gender\njackson,male\nnicolas,male\ntheo,male\nlucas,male\n"
    )
    rc = root / "robocall-transcripts"
    rc.mkdir(parents=True)
    with (rc / "metadata.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["file_name", "language", "transcript", "case_details", "case_pdf"])
        for i, (lang, text) in enumerate(ROBOCALLS):
            w.writerow([f"audio-wav-16khz/{1000 + i}_normalized.wav", lang, text, f"case-{i % 3}", ""])
    noise = root / "noise"
    noise.mkdir()
    sf.write(noise / "babble.wav", (0.05 * rng.standard_normal(16000 * 5)).astype(np.float32), 16000)
    return root


@pytest.fixture(scope="session")
def corpora_root(tmp_path_factory) -> Path:
    """A synthetic corpora root (session-wide, read-only by convention)."""
    return make_corpora_root(tmp_path_factory.mktemp("corpora"))


@pytest.fixture(scope="session")
def shared_corpora() -> Path:
    """The real development corpora next to the checkout (skips when absent)."""
    root = Path(os.environ.get("RCB_CORPORA", SHARED))
    if not (root / "librispeech-sample").is_dir():
        pytest.skip("real corpora not available (set RCB_CORPORA)")
    return root


@pytest.fixture(scope="session")
def aasist_weights() -> Path:
    """Folder with the published AASIST.pth and AASIST-L.pth (skips when absent; RCB_AASIST_WEIGHTS=DIR)."""
    root = Path(os.environ.get("RCB_AASIST_WEIGHTS", SHARED_AASIST))
    if not all((root / f).is_file() for f in ("AASIST.pth", "AASIST-L.pth")):
        pytest.skip(
            f"published AASIST weights not found in {root} (AASIST.pth, AASIST-L.pth of clovaai/aasist "
            "models/weights/; set RCB_AASIST_WEIGHTS=DIR)"
        )
    return root
