"""Telephone channel: rates, codecs, band limits, SNR, loudness, determinism, replay, no class shortcut."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import soundfile as sf

from robocall_bench.channel import CODECS, ChannelResult, TelephoneChannel, list_codecs
from robocall_bench.channel import codecs as cd
from robocall_bench.channel.levels import active_speech_level, rms_db
from robocall_bench.errors import RcbError
from robocall_bench.seeding import rng_for

SR = 16000
BARE = {
    "eq": False,
    "rir": False,
    "noise": False,
    "frame_loss": False,
    "gain": False,
}  # loudness + codec only


def voiced(sr: int = SR, seconds: float = 2.0, level: float = 0.1, n_harm: int | None = None) -> np.ndarray:
    """Harmonic 'voiced speech' with gliding f0 and pauses, (T,) float32."""
    t = np.arange(int(seconds * sr)) / sr
    ph = 2 * np.pi * np.cumsum(120 + 30 * np.sin(2 * np.pi * 0.7 * t)) / sr
    n_harm = n_harm or int(0.45 * sr / 150)
    x = sum(np.sin(k * ph) * 0.85**k for k in range(1, n_harm))
    env = np.clip(3 * np.sin(2 * np.pi * 1.5 * t), 0, 1)
    x = x * env
    return (level * x / np.abs(x).max()).astype(np.float32)


def tone_db(y: np.ndarray, sr: int, f: float) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    k = round(f * y.size / sr)
    return 20 * np.log10(spec[k - 3 : k + 4].max() + 1e-20)


def step(res: ChannelResult, name: str) -> dict:
    return next(s for s in res.chain if s["step"] == name)


AVAILABLE = [c for c, ok in list_codecs().items() if ok]


def test_list_codecs_and_names():
    avail = list_codecs()
    assert set(avail) == set(CODECS) and all(isinstance(v, bool) for v in avail.values())
    for c in ("pcm16", "pcmu", "pcma", "gsm610", "g721"):
        assert avail[c], c
    ch = TelephoneChannel()
    assert set(ch.codec_names()) == {c for c in ch.codec_weights if avail[c]}


@pytest.mark.parametrize(
    ("band", "sr_in", "out_sr"), [("narrowband", 44100, 8000), ("wideband", 16000, 16000)]
)
def test_output_rate_length_range(band, sr_in, out_sr):
    ch = TelephoneChannel(band=band)
    x = voiced(sr_in, 1.5, level=0.9)
    for seed in range(3):
        res = ch.apply(x, sr_in, np.random.default_rng(seed))
        assert res.sample_rate == out_sr and res.audio.dtype == np.float32
        assert res.audio.shape == (int(np.ceil(x.size * out_sr / sr_in)),)
        assert np.all(np.isfinite(res.audio)) and np.abs(res.audio).max() <= 1.0
        assert res.codec in ch.codec_names()


@pytest.mark.parametrize("codec", AVAILABLE)
def test_every_codec_roundtrips(codec):
    ch = TelephoneChannel(**BARE)
    x = voiced()
    ref = ch.apply(x, SR, np.random.default_rng(0), codec="pcm16").audio
    for seed in range(2):
        res = ch.apply(x, SR, np.random.default_rng(seed), codec=codec)
        assert res.codec == codec and step(res, "codec")["name"] == codec
        assert res.audio.shape == ref.shape
        # lag-0 correlation: high only if the codec delay was compensated
        assert np.corrcoef(ref, res.audio)[0, 1] > 0.8, (codec, step(res, "codec"))


def test_mp3_delay_compensated():
    spec = CODECS["mp3"]
    if not cd.codec_available("mp3"):
        pytest.skip("mp3 not available")
    params = {"kbps": 16, "bitrate_mode": "CONSTANT"}  # no gapless tag at this rate: LAME delay shows
    assert cd.codec_delay(spec, 8000, params) > 0
    x = voiced(8000)
    y, info = cd.roundtrip(x, 8000, "mp3", params)
    assert y.shape == x.shape and info["delay_samples"] > 0
    assert np.corrcoef(x, y)[0, 1] > 0.9


def test_band_limit_narrowband():
    ch = TelephoneChannel(**BARE)
    t = np.arange(2 * SR) / SR
    x = 0.1 * sum(np.sin(2 * np.pi * f * t) for f in (100.0, 1000.0, 3800.0))
    y = ch.apply(x.astype(np.float32), SR, np.random.default_rng(0), codec="pcm16").audio
    ref = tone_db(y, 8000, 1000.0)
    assert ref - tone_db(y, 8000, 100.0) > 40
    assert ref - tone_db(y, 8000, 3800.0) > 40
    assert abs(float(np.mean(y))) < 1e-4  # no DC


def test_band_limit_wideband():
    ch = TelephoneChannel(band="wideband", **BARE)
    t = np.arange(2 * 32000) / 32000
    x = 0.1 * sum(np.sin(2 * np.pi * f * t) for f in (1000.0, 6000.0, 7900.0))
    y = ch.apply(x.astype(np.float32), 32000, np.random.default_rng(0), codec="pcm16").audio
    assert abs(tone_db(y, SR, 1000.0) - tone_db(y, SR, 6000.0)) < 1.5
    assert tone_db(y, SR, 1000.0) - tone_db(y, SR, 7900.0) > 40


@pytest.mark.parametrize("kind", ["white", "pink", "brown", "file"])
def test_snr_in_band(kind, tmp_path):
    sf.write(tmp_path / "hum.wav", 0.3 * np.random.default_rng(5).standard_normal(11025), 22050)
    ch = TelephoneChannel(noise_dir=str(tmp_path), rir=False, frame_loss=False, noise={"types": {kind: 1.0}})
    x = voiced()
    for seed in range(2):
        res = ch.apply(x, SR, np.random.default_rng(seed), codec="pcm16")
        nz = step(res, "noise")
        assert nz["type"] == kind and res.snr_db == nz["snr_db"]
        # replay the recorded chain on speech alone and on silence (noise alone): levels add linearly
        speech = ch.replay(x, SR, [s for s in res.chain if s["step"] != "noise"]).audio
        noise = ch.replay(np.zeros_like(x), SR, res.chain).audio
        achieved = active_speech_level(speech, 8000) - rms_db(noise)
        assert abs(achieved - res.snr_db) < 1.5, (kind, achieved, res.snr_db)


@pytest.mark.parametrize("method", ["asl", "rms"])
def test_loudness_target(method):
    ch = TelephoneChannel(rir=False, noise=False, frame_loss=False, loudness={"method": method})
    x = voiced(level=0.5)
    for seed in range(3):
        res = ch.apply(x, SR, np.random.default_rng(seed), codec="pcm16")
        want = step(res, "loudness")["target_dbfs"] + step(res, "gain")["gain_db"]
        got = active_speech_level(res.audio, 8000) if method == "asl" else rms_db(res.audio)
        assert abs(got - want) < 0.5


def test_limiter_never_clips():
    ch = TelephoneChannel(rir=False, noise=False, frame_loss=False, loudness={"target_dbfs": [-3.0, -3.0]},
                          gain={"gain_db": [6.0, 6.0]})  # fmt: skip
    res = ch.apply(voiced(level=0.9), SR, np.random.default_rng(0), codec="pcmu")
    assert np.abs(res.audio).max() <= 0.99 + 1e-6
    assert step(res, "loudness")["limited_samples"] > 0


def test_deterministic():
    ch = TelephoneChannel()
    x = voiced()
    a = ch.apply(x, SR, rng_for(7, "utt-1"))
    b = ch.apply(x, SR, rng_for(7, "utt-1"))
    c = ch.apply(x, SR, rng_for(7, "utt-2"))
    assert a.audio.tobytes() == b.audio.tobytes() and a.chain == b.chain
    assert a.audio.tobytes() != c.audio.tobytes()


def test_chain_json_and_replay():
    ch = TelephoneChannel(frame_loss={"loss_prob": [0.05, 0.05]})
    x = voiced()
    res = ch.apply(x, SR, np.random.default_rng(3))
    chain = json.loads(json.dumps(res.chain, allow_nan=False))
    assert next(s["step"] for s in chain) == "input" and step(res, "codec")["name"] == res.codec
    again = ch.replay(x, SR, chain)
    assert again.audio.tobytes() == res.audio.tobytes()
    with pytest.raises(RcbError):
        ch.replay(x[:-1], SR, chain)


def test_frame_loss_concealment():
    ch = TelephoneChannel(
        rir=False, noise=False, gain=False, frame_loss={"loss_prob": [0.1, 0.1], "bursty_p": 0.0}
    )
    x = voiced()
    res = ch.apply(x, SR, np.random.default_rng(1), codec="pcm16")
    fl = step(res, "frame_loss")
    assert fl["n_lost"] == len(fl["lost_frames"]) > 0
    clean = ch.replay(x, SR, [s for s in res.chain if s["step"] != "frame_loss"]).audio
    changed = np.nonzero(np.abs(res.audio - clean) > 1e-6)[0] // 160
    assert set(changed.tolist()) <= {f for k in fl["lost_frames"] for f in (k - 1, k)}


def test_unknown_and_unavailable_codec(monkeypatch):
    ch = TelephoneChannel()
    with pytest.raises(RcbError, match="valid codecs"):
        ch.apply(voiced(), SR, np.random.default_rng(0), codec="g729")
    with pytest.raises(RcbError, match="valid codecs"):
        TelephoneChannel(codecs={"g729": 1.0})
    monkeypatch.setattr(cd, "codec_available", lambda name: name != "amr-nb")
    assert "amr-nb" not in ch.codec_names()
    with pytest.raises(RcbError, match="sox"):
        ch.apply(voiced(), SR, np.random.default_rng(0), codec="amr-nb")


def test_noise_dir_files_and_pickle(tmp_path):
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "babble.wav", 0.2 * rng.standard_normal(8000), 22050)  # shorter than the utterance
    h = rng.standard_normal(4000) * np.exp(-np.arange(4000) / 600.0)
    h[:50] = 0
    h[50] = 3.0
    sf.write(tmp_path / "rir_room.wav", 0.3 * h, SR)
    ch = TelephoneChannel(
        noise_dir=str(tmp_path), rir={"p": 1.0, "synthetic_p": 0.0}, noise={"types": {"file": 1.0}}
    )
    x = voiced()
    res = ch.apply(x, SR, np.random.default_rng(2))
    assert step(res, "rir")["file"] == "rir_room.wav" and step(res, "noise")["file"] == "babble.wav"
    clone = pickle.loads(pickle.dumps(ch))  # caches are not pickled, reloaded lazily
    assert clone.apply(x, SR, np.random.default_rng(2)).audio.tobytes() == res.audio.tobytes()
    with pytest.raises(RcbError, match="not a directory"):
        TelephoneChannel(noise_dir=str(tmp_path / "missing")).apply(x, SR, np.random.default_rng(0))


def test_no_class_shortcut():
    """Full-band 16 kHz loud input vs 8 kHz telephone-band quiet input: same rate/length, same levels."""
    ch = TelephoneChannel()
    a = voiced(SR, 2.0, level=0.7, n_harm=45) + 0.01 * np.random.default_rng(0).standard_normal(2 * SR)
    b = voiced(8000, 2.0, level=0.02)
    la, lb = [], []
    for seed in range(10):
        ra = ch.apply(a.astype(np.float32), SR, np.random.default_rng(seed))
        rb = ch.apply(b, 8000, np.random.default_rng(seed))
        assert ra.sample_rate == rb.sample_rate == 8000 and ra.audio.shape == rb.audio.shape
        la.append(rms_db(ra.audio))
        lb.append(rms_db(rb.audio))
    la, lb = np.array(la), np.array(lb)
    assert abs(la.mean() - lb.mean()) < 0.5 and abs(la.std() - lb.std()) < 0.5
    assert np.max(np.abs(la - lb)) < 1.5


def test_configs_instantiate_and_match_defaults():
    from pathlib import Path

    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from robocall_bench.channel.settings import DEFAULTS

    root = Path(__file__).resolve().parents[1] / "configs"
    with initialize_config_dir(config_dir=str(root / "channel"), version_base=None):
        nb = compose(config_name="narrowband")
        wb = compose(config_name="wideband")
    for key, value in DEFAULTS.items():  # the YAML documents the code defaults
        assert nb[key] == value, key
    ch_nb, ch_wb = instantiate(nb), instantiate(wb, noise_dir=None)
    assert isinstance(ch_nb, TelephoneChannel) and ch_nb.sample_rate == 8000 and ch_nb.noise_dir is None
    assert ch_wb.sample_rate == 16000 and set(ch_wb.codec_weights) == set(ch_nb.codec_weights)
    assert isinstance(ch_nb.steps["noise"]["types"], dict)
    pickle.dumps(ch_wb)


def test_eq_removes_long_term_spectral_tilt():
    from scipy.signal import butter, lfilter

    from robocall_bench.channel.eq import ltas_db, target_db
    from robocall_bench.corpus.features import shortcut_features

    bright = voiced(SR, 3.0, n_harm=40)
    dull = lfilter(*butter(1, 400, fs=SR), bright).astype(np.float32)  # a 'dark' voice or microphone
    nolim = {"crest_db": None}
    ch = TelephoneChannel(**{**BARE, "loudness": nolim, "eq": {"tilt_db_per_oct": [-6.0, -6.0]}})
    outs = [ch.apply(x, SR, np.random.default_rng(0), codec="pcm16").audio for x in (dull, bright)]
    plain = TelephoneChannel(**{**BARE, "loudness": nolim})
    ref = [plain.apply(x, SR, np.random.default_rng(0), codec="pcm16").audio for x in (dull, bright)]
    before = [shortcut_features(y, 8000)["spectral_rolloff"] for y in ref]
    after = [shortcut_features(y, 8000)["spectral_rolloff"] for y in outs]
    assert abs(after[0] - after[1]) < 0.5 * abs(before[0] - before[1])
    tel = slice(5, 15)  # third-octave bands 315 Hz ... 3.2 kHz
    spread = [np.ptp((ltas_db(a, 8000) - ltas_db(b, 8000))[tel]) for a, b in (ref, outs)]
    assert spread[1] < 0.5 * spread[0] and len(target_db(-6.0)) == len(ltas_db(outs[0], 8000))


def test_agc_limits_crest_factor_for_both_classes():
    peaky = voiced(SR, 2.0)
    peaky[1000:1010] = 0.9  # clicks: a crest factor far above speech
    ch = TelephoneChannel(**{**BARE, "loudness": {"crest_db": [16.0, 16.0], "target_dbfs": [-26.0, -26.0]}})
    y = ch.apply(peaky, SR, np.random.default_rng(0), codec="pcm16").audio
    rms_db = 20 * np.log10(np.sqrt(np.mean(y.astype(np.float64) ** 2)))
    peak_db = 20 * np.log10(np.max(np.abs(y)))
    assert peak_db <= -26.0 + 16.0 + 0.05  # limiter threshold: target level + crest
    assert abs(rms_db + 26.0) < 2.5  # the clicks' energy is gone, the speech level stays


def test_recorded_noise_differs_per_call_even_at_the_same_offset():
    """Two calls drawing the same stretch of a noise file must not share identical noise (a replay
    detector would read it as shared audio): speed and direction are drawn per call."""
    from robocall_bench.channel.noise import file_noise

    rng = np.random.default_rng(0)
    noise = rng.standard_normal(8000 * 20)
    a = file_noise(noise, {"offset": 1000, "speed": 0.93, "reverse": False}, 8000)
    b = file_noise(noise, {"offset": 1000, "speed": 1.11, "reverse": False}, 8000)
    same = file_noise(noise, {"offset": 1000, "speed": 1.0}, 8000)
    assert np.array_equal(same, noise[1000:9000])
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.2
    assert abs(np.corrcoef(a, same)[0, 1]) < 0.2
    rev = file_noise(noise, {"offset": 1000, "speed": 1.0, "reverse": True}, 8000)
    assert np.array_equal(rev, noise[1000:9000][::-1])
