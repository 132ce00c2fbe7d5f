"""Copy-synthesis engines (WORLD, Griffin-Lim): resynthesis of given audio, determinism, errors."""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import speechlike
from robocall_bench.audio import frame_db
from robocall_bench.errors import EngineUnavailableError, RcbError
from robocall_bench.tts import load_engine
from robocall_bench.tts.vocoder import CopySynthesisEngine, GriffinLimEngine, WorldEngine, warp_envelope

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
COPY_SYSTEMS = ["world-copy", "griffinlim-copy"]


def sha(x: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()


def speech(sr: int, seed: int = 0, f0: float = 140.0, seconds: float = 1.6) -> np.ndarray:
    return speechlike(sr, seconds, np.random.default_rng(seed), f0)


def world_f0(x: np.ndarray, sr: int) -> float:
    """Median F0 (Hz) of the voiced frames of ``x`` (T,)."""
    from robocall_bench.tts.vocoder import _import_pyworld

    pw = _import_pyworld()
    y = x.astype(np.float64)
    f0, t = pw.dio(y, sr, f0_floor=60.0, f0_ceil=500.0)
    f0 = pw.stonemask(y, f0, t, sr)
    return float(np.median(f0[f0 > 0]))


@pytest.mark.parametrize("sr", [8000, 16000])
@pytest.mark.parametrize("system", COPY_SYSTEMS)
def test_resynthesis_is_a_close_but_new_rendition(system: str, sr: int) -> None:
    engine = load_engine(system, CONFIG_DIR)
    assert isinstance(engine, CopySynthesisEngine) and engine.copy and engine.languages == ("en", "zh")
    engine.check()
    x = speech(sr)
    s = engine.resynthesize(x, sr, np.random.default_rng(1))
    assert s.sample_rate == sr and s.audio.dtype == np.float32 and s.audio.ndim == 1
    assert np.all(np.isfinite(s.audio)) and float(np.max(np.abs(s.audio))) <= 1.0
    assert abs(s.audio.size - x.size) <= 0.03 * x.size
    assert float(np.max(np.abs(s.audio))) > 0.05
    # A resynthesis, not a copy: the samples differ ...
    assert float(np.mean(np.abs(s.audio[: x.size] - x))) > 0.01
    # ... but the loudness contour (syllables, pauses) follows the input, unlike other speech.
    own = np.corrcoef(frame_db(x, sr), frame_db(s.audio, sr))[0, 1]
    other = speech(sr, seed=7, f0=200.0)
    foreign = np.corrcoef(frame_db(other, sr), frame_db(s.audio, sr))[0, 1]
    assert own > 0.8 and own > foreign + 0.2, (own, foreign)
    assert s.params["vocoder"] in ("world", "griffinlim")
    assert engine.version()["engine"] in ("world", "griffinlim")


@pytest.mark.parametrize("system", COPY_SYSTEMS)
def test_deterministic_for_a_seed_and_picklable(system: str) -> None:
    engine = load_engine(system, CONFIG_DIR)
    x = speech(8000)
    fresh = pickle.loads(pickle.dumps(engine))  # workers receive engines before any use
    a = engine.resynthesize(x, 8000, np.random.default_rng(3))
    b = fresh.resynthesize(x, 8000, np.random.default_rng(3))
    c = engine.resynthesize(x, 8000, np.random.default_rng(4))
    assert sha(a.audio) == sha(b.audio) and a.params == b.params
    assert a.params != c.params and sha(a.audio) != sha(c.audio)
    pickle.loads(pickle.dumps(engine))  # still picklable after use (no cached handles)


SHA_SCRIPT = """
import hashlib, sys
import numpy as np
sys.path.insert(0, {tests!r})
from conftest import speechlike
from robocall_bench.tts import load_engine
x = speechlike(8000, 1.6, np.random.default_rng(0), 140.0)
s = load_engine({system!r}, {configs!r}).resynthesize(x, 8000, np.random.default_rng(3))
print(hashlib.sha256(s.audio.tobytes()).hexdigest())
"""


@pytest.mark.parametrize("system", COPY_SYSTEMS)
def test_same_audio_whatever_ran_before_and_in_a_fresh_process(system: str) -> None:
    # The corpus re-renders an utterance in another worker on resume and checks its sha256, so the
    # output must not depend on earlier calls (WORLD read memory past the signal edges before padding).
    engine = load_engine(system, CONFIG_DIR)
    x = speech(8000)
    first = sha(engine.resynthesize(x, 8000, np.random.default_rng(3)).audio)
    engine.resynthesize(speech(16000, seed=5, f0=220.0, seconds=2.3), 16000, np.random.default_rng(9))
    assert sha(engine.resynthesize(x, 8000, np.random.default_rng(3)).audio) == first
    code = SHA_SCRIPT.format(tests=str(Path(__file__).parent), system=system, configs=str(CONFIG_DIR))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == first


@pytest.mark.parametrize("system", COPY_SYSTEMS)
def test_copy_engines_refuse_text(system: str) -> None:
    engine = load_engine(system, CONFIG_DIR)
    with pytest.raises(RcbError, match=rf"{system}.*copy-synthesis.*source audio"):
        engine.synthesize("Press one now.", "en", np.random.default_rng(0))


def test_world_f0_scale_moves_pitch_and_keeps_prosody() -> None:
    sr = 16000
    x = speech(sr, f0=150.0)
    up = WorldEngine("w", f0_scale=1.2, formant_shift=1.0, aperiodicity_scale=1.0)
    y = up.resynthesize(x, sr, np.random.default_rng(0))
    assert y.params["f0_scale"] == 1.2 and y.params["f0_method"] == "dio+stonemask"
    ratio = world_f0(y.audio, sr) / world_f0(x, sr)
    assert 1.12 < ratio < 1.28, ratio


def test_warp_envelope_moves_a_formant() -> None:
    bins = np.arange(257)
    sp = np.exp(-0.5 * ((bins - 60) / 5.0) ** 2)[None, :].repeat(3, axis=0) + 1e-6
    assert np.array_equal(warp_envelope(sp, 1.0), sp)
    assert int(np.argmax(warp_envelope(sp, 1.1)[0])) == 66
    assert int(np.argmax(warp_envelope(sp, 0.9)[0])) == 54
    assert warp_envelope(sp, 0.9).shape == sp.shape


def test_griffinlim_draws_and_linear_path() -> None:
    x = speech(8000)
    eng = GriffinLimEngine("g", n_mels=None, n_iter=[4, 8], magnitude_power=1.0)
    s = eng.resynthesize(x, 8000, np.random.default_rng(0))
    assert 4 <= s.params["n_iter"] <= 8 and s.params["n_mels"] is None
    assert s.params["n_fft"] == 512 and eng.n_fft(16000) == 1024
    assert s.audio.size == x.size


def test_bad_input_and_config_name_the_problem() -> None:
    eng = WorldEngine("world-copy")
    rng = np.random.default_rng(0)
    with pytest.raises(RcbError, match="world-copy.*shape"):
        eng.resynthesize(np.zeros((2, 8000), np.float32), 8000, rng)
    with pytest.raises(RcbError, match="4000 Hz < 8000 Hz"):
        eng.resynthesize(speech(4000), 4000, rng)
    with pytest.raises(RcbError, match="shorter than"):
        eng.resynthesize(np.ones(100, np.float32) * 0.1, 8000, rng)
    with pytest.raises(RcbError, match=r"world-copy.yaml: f0_method"):
        WorldEngine("world-copy", f0_method="crepe")
    with pytest.raises(RcbError, match=r"griffinlim-copy.yaml: n_mels"):
        GriffinLimEngine("griffinlim-copy", n_mels=4)
    with pytest.raises(RcbError, match=r"griffinlim-copy.yaml: n_iter"):
        GriffinLimEngine("griffinlim-copy", n_iter=[40, 10])


def test_missing_packages_name_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import x` raise ImportError, as on a machine without it.
    monkeypatch.setitem(sys.modules, "pyworld", None)
    with pytest.raises(EngineUnavailableError, match=r"world-copy.*pip install pyworld"):
        WorldEngine("world-copy").check()
    with pytest.raises(EngineUnavailableError, match="pip install pyworld"):
        WorldEngine("world-copy").resynthesize(speech(8000), 8000, np.random.default_rng(0))
    monkeypatch.setitem(sys.modules, "torchaudio", None)
    with pytest.raises(EngineUnavailableError, match=r"griffinlim-copy.*pip install -e '\.\[torch\]'"):
        GriffinLimEngine("griffinlim-copy").check()


def test_pyworld_import_leaves_no_pkg_resources_stand_in() -> None:
    from robocall_bench.tts.vocoder import _import_pyworld

    had = "pkg_resources" in sys.modules
    assert callable(_import_pyworld().synthesize)
    assert ("pkg_resources" in sys.modules) == had
