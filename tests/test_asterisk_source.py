"""Asterisk core-sounds source: fake trees in tmp_path and, when installed, the Debian package."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hydra.utils import instantiate
from omegaconf import OmegaConf

from robocall_bench.config import config_dir
from robocall_bench.errors import RcbError, SourceMissingError
from robocall_bench.sources.asterisk import AsteriskSource, parse_transcript, spoken_text
from robocall_bench.sources.base import SourceItem, load_item

TRANSCRIPT = """; Core Asterisk Sounds in English

agent-pass: Please enter your password followed by the pound key.
beep: [this is a simple beep tone]
letters/dot: dot [.]
silence/1: (1 second of silence)
digits/0: zero
digits/1: one
digits/2: two
digits/3: three
digits/4: four
digits/5: five
digits/6: six
digits/7: seven
digits/8: eight
digits/9: nine
"""
DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _wav(path: Path, seconds: float = 0.6, sr: int = 8000, silent: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(sr * seconds)) / sr
    x = np.zeros_like(t) if silent else 0.3 * np.sin(2 * np.pi * 220 * t)
    sf.write(str(path), x.astype(np.float32), sr, subtype="PCM_16")


def fake_tree(root: Path, transcript: str = TRANSCRIPT, gz: bool = False) -> Path:
    """An Asterisk-like sounds folder: the prompts of TRANSCRIPT plus one unlisted file."""
    folder = root / "sounds" / "en"
    for name in parse_transcript(transcript):
        _wav(folder / f"{name}.wav", silent=name.startswith("silence/"))
    _wav(folder / "unlisted.wav")
    (folder / "notes.txt").write_text("not a prompt\n")
    data = transcript.encode("utf-8")
    if gz:
        (folder / "core-sounds-en.txt.gz").write_bytes(gzip.compress(data))
    else:
        (folder / "core-sounds-en.txt").write_bytes(data)
    return folder


def source(subdir: str, transcript: str | None = None) -> AsteriskSource:
    return AsteriskSource(
        name="asterisk-en", subdir=subdir, language="en", transcript=transcript,
        license="CC-BY-SA-3.0", url="https://downloads.asterisk.org/pub/telephony/sounds/",
        config_file="configs/source/asterisk_en.yaml",
    )  # fmt: skip


def test_transcript_parsing_and_spoken_text() -> None:
    t = parse_transcript(TRANSCRIPT + "not a line\nname with space: x\n")
    assert t["agent-pass"].startswith("Please enter") and t["digits/7"] == "seven"
    assert "not a line" not in t and "name with space" not in t and len(t) == 14
    assert spoken_text("dot [.]") == "dot"
    assert spoken_text("[ascending tones]") is None
    assert spoken_text("(10 seconds of silence)") is None
    assert (
        spoken_text("Your call cannot be completed as dialed.") == "Your call cannot be completed as dialed."
    )


@pytest.mark.parametrize("gz", [False, True])
def test_scan_fake_tree(tmp_path: Path, gz: bool) -> None:
    folder = fake_tree(tmp_path, gz=gz)
    items, skipped = source(str(folder)).scan(tmp_path / "corpora-root-unused", 0)
    by_id = {it.item_id: it for it in items}
    assert set(by_id) == {"asterisk-en/agent-pass", "asterisk-en/letters/dot"} | {
        f"asterisk-en/digits/{d}" for d in range(10)
    }
    it = by_id["asterisk-en/letters/dot"]
    assert (
        it.text == "dot" and it.speaker == "asterisk-en:allison" and it.gender == "F" and it.language == "en"
    )
    assert it.files == (str(folder / "letters" / "dot.wav"),) and it.duration == pytest.approx(0.6)
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert set(reasons) == {"beep.wav", "1.wav", "unlisted.wav"}
    assert "not speech" in reasons["beep.wav"] and "not speech" in reasons["1.wav"]
    assert "no line `unlisted: ...`" in reasons["unlisted.wav"]
    x, sr = load_item(by_id["asterisk-en/agent-pass"])
    assert sr == 8000 and x.shape == (4800,)


def test_relative_subdir_is_under_the_corpora_root(tmp_path: Path) -> None:
    fake_tree(tmp_path)
    items, _ = source("sounds/en").scan(tmp_path, 0)
    assert len(items) == 12 and all(Path(it.files[0]).is_relative_to(tmp_path) for it in items)


def test_transcript_outside_the_folder(tmp_path: Path) -> None:
    folder = fake_tree(tmp_path, gz=True)
    moved = tmp_path / "doc" / "core-sounds-en.txt.gz"
    moved.parent.mkdir()
    (folder / "core-sounds-en.txt.gz").rename(moved)
    with pytest.raises(SourceMissingError, match=r"no transcript .*apt-get install asterisk-core-sounds-en"):
        source(str(folder)).scan(tmp_path, 0)
    items, _ = source(str(folder), transcript=str(moved)).scan(tmp_path, 0)
    assert len(items) == 12


def test_digit_items_in_order(tmp_path: Path) -> None:
    folder = fake_tree(tmp_path)
    digits = source(str(folder)).digit_items(tmp_path)
    assert [it.text for it in digits] == DIGIT_WORDS
    assert [Path(it.files[0]).relative_to(folder).as_posix() for it in digits] == [
        f"digits/{d}.wav" for d in range(10)
    ]
    (folder / "digits" / "4.wav").unlink()
    with pytest.raises(
        SourceMissingError, match=r"digits/4.wav .*apt-get install asterisk-core-sounds-en-wav"
    ):
        source(str(folder)).digit_items(tmp_path)


def test_missing_folder_and_bad_transcript_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(
        SourceMissingError, match=r"apt-get install asterisk-core-sounds-en-wav.*RCB_ASTERISK_SOUNDS"
    ):
        source(str(tmp_path / "nowhere")).scan(tmp_path, 0)
    folder = fake_tree(tmp_path)
    (folder / "core-sounds-en.txt").write_bytes("digits/0: z\xe9ro\n".encode("latin-1"))
    with pytest.raises(
        RcbError, match=r"core-sounds-en.txt:1: byte.*not valid UTF-8.*encoding: .*asterisk_en.yaml"
    ):
        source(str(folder)).scan(tmp_path, 0)


def test_config_reads_the_env_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = fake_tree(tmp_path)
    monkeypatch.setenv("RCB_ASTERISK_SOUNDS", str(folder))
    monkeypatch.setenv("RCB_ASTERISK_TRANSCRIPT", str(tmp_path / "none.txt"))
    src = instantiate(OmegaConf.load(config_dir() / "source" / "asterisk_en.yaml"))
    assert isinstance(src, AsteriskSource) and src.subdir == str(folder)
    assert src.license.startswith("CC-BY-SA-3.0") and src.url.startswith("https://")
    items, _ = src.scan(tmp_path, 0)
    assert len(items) == 12


REAL = Path("/usr/share/asterisk/sounds/en")


@pytest.mark.skipif(
    not (REAL / "digits" / "0.wav").is_file(),
    reason="Debian package asterisk-core-sounds-en-wav is not installed (apt-get install asterisk-core-sounds-en-wav)",
)
def test_real_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RCB_ASTERISK_SOUNDS", raising=False)
    monkeypatch.delenv("RCB_ASTERISK_TRANSCRIPT", raising=False)
    src = instantiate(OmegaConf.load(config_dir() / "source" / "asterisk_en.yaml"))
    items, skipped = src.scan(Path("/nonexistent-corpora-root"), 0)
    assert len(items) > 500 and {it.speaker for it in items} == {"asterisk-en:allison"}
    assert all(isinstance(it, SourceItem) and it.text for it in items)
    assert 20 * 60 < sum(it.duration for it in items) < 40 * 60
    assert all("not speech" in s.reason for s in skipped), skipped[:3]
    assert [it.text for it in src.digit_items(Path("/nonexistent-corpora-root"))] == DIGIT_WORDS
    x, sr = load_item(next(it for it in items if it.item_id == "asterisk-en/digits/7"))
    assert sr == 8000 and 0.2 < x.size / sr < 2.0
