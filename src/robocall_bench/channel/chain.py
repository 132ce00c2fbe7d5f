"""The telephone channel every utterance (robocall and human alike) goes through.

Order of the chain, following the physical path of a call:

1. ``input``      resample to 16 kHz, the talker-side processing rate, whatever the source rate
                  (so no later step can behave differently for 8 kHz and 48 kHz sources);
2. ``eq``         handset response: the long-term spectrum is equalised to a drawn target tilt
                  (source microphones and TTS engines differ in tilt; see eq.py);
2b. ``rir``       room impulse response at the talker (measured ``rir_*.wav`` or synthetic RT60);
3. ``noise``      background noise picked up by the handset microphone; added after the RIR
                  because the talker's RIR does not apply to the room noise. SNR is set against
                  the active speech level, both measured in the telephone band (what is heard);
4. ``band``       handset/network band: resample to 8 kHz (16 kHz wideband) and band-pass
                  300-3400 Hz (50-7000 Hz), zero DC;
5. ``loudness``   the phone's AGC: normalise to a drawn target level (P.56 active speech level or
                  RMS) *before* the encoder, with a smooth peak limiter at a drawn crest factor
                  (``crest_db`` above the target; the same for both classes) so nothing clips;
6. ``codec``      encode/decode round trip (G.711, GSM, G.721, Opus, MP3, AMR-NB), length kept and
                  constant codec delay compensated;
7. ``frame_loss`` packets lost in the network after encoding, concealed at the receiver by
                  repeating the last good 20 ms frame with attenuation and cross-fades;
8. ``gain``       receive-side level variation (line loss, terminal volume), peak-safe.

All random parameters are drawn up front into a plan (``chain``): each step gets its own child
generator, so switching one step off does not change what the others draw, and nothing drawn
depends on the audio content (only on its length). Measured quantities (noise gain, AGC gain,
codec delay) are added to the chain while it runs; :meth:`TelephoneChannel.replay` re-runs a
recorded chain bit-identically.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import RcbError
from . import codecs as cd
from .eq import equalise
from .filters import INTERNAL_SR, band_limit, get_band, resampled_len, to_rate
from .levels import active_speech_level, db_to_gain, peak_limit, speech_level
from .loss import conceal, draw_lost_frames
from .noise import GENERATED, NOISE_SPEED, NoiseDir, coloured_noise, file_noise, noise_gain_db
from .room import apply_rir, prepare_rir, synthetic_rir
from .settings import DEFAULTS, STEPS, plain, step_cfg, uniform


@dataclass
class ChannelResult:
    """Channel output: ``audio`` (T',) float32 in [-1, 1] at ``sample_rate``; the ``codec`` applied;
    the drawn ``snr_db`` (None without noise); ``chain``: the ordered, JSON-ready steps."""

    audio: np.ndarray
    sample_rate: int
    codec: str
    snr_db: float | None
    chain: list[dict[str, Any]]


class TelephoneChannel:
    """Simulated telephone channel; see the module docstring for the chain. Picklable (caches are dropped)."""

    def __init__(
        self,
        band: str = "narrowband",
        noise_dir: str | None = None,
        codecs: Mapping[str, float] | None = None,
        codec_params: Mapping[str, Any] | None = None,
        eq: Mapping[str, Any] | bool | None = None,
        rir: Mapping[str, Any] | bool | None = None,
        noise: Mapping[str, Any] | bool | None = None,
        loudness: Mapping[str, Any] | bool | None = None,
        frame_loss: Mapping[str, Any] | bool | None = None,
        gain: Mapping[str, Any] | bool | None = None,
    ) -> None:
        self.band = get_band(str(band))
        self.noise_dir = None if noise_dir is None else str(noise_dir)
        weights = plain(codecs) if codecs is not None else dict(DEFAULTS["codecs"])
        for name, w in weights.items():
            cd.get_codec(name)
            if float(w) < 0:
                raise RcbError(f"channel.codecs.{name}={w}: weights must be >= 0")
        self.codec_weights = {k: float(v) for k, v in weights.items()}
        self.codec_params = {**DEFAULTS["codec_params"], **(plain(codec_params) or {})}
        self.steps = {
            s: step_cfg(s, v)
            for s, v in zip(STEPS, (eq, rir, noise, loudness, frame_loss, gain), strict=True)
        }
        if self.steps["noise"]:
            bad = set(self.steps["noise"]["types"]) - {"file", *GENERATED}
            if bad:
                raise RcbError(
                    f"channel.noise.types {sorted(bad)} unknown; valid: file, {', '.join(GENERATED)}"
                )
        if self.steps["loudness"] and self.steps["loudness"]["method"] not in ("asl", "rms"):
            raise RcbError(f"channel.loudness.method={self.steps['loudness']['method']!r}: use asl or rms")
        self._assets = NoiseDir(self.noise_dir, INTERNAL_SR)

    @property
    def sample_rate(self) -> int:
        """Output sample rate (8000 narrowband, 16000 wideband)."""
        return self.band.sample_rate

    def codec_names(self) -> list[str]:
        """Codecs this config lists (any weight, including 0) that are available on this machine."""
        return [c for c in self.codec_weights if cd.codec_available(c)]

    # ------------------------------------------------------------------ drawing the plan
    def plan(
        self, n_in: int, sr: int, rng: np.random.Generator, codec: str | None = None
    ) -> list[dict[str, Any]]:
        """Draw the chain for an input of ``n_in`` samples at ``sr`` (no audio needed)."""
        if codec is not None:
            cd.require_codec(codec)
        r = [np.random.default_rng(int(s)) for s in rng.integers(0, 2**32, size=7)]
        st, out_sr = self.steps, self.band.sample_rate
        n_out = resampled_len(resampled_len(n_in, sr, INTERNAL_SR), INTERNAL_SR, out_sr)
        chain: list[dict[str, Any]] = [
            {"step": "input", "sr_in": int(sr), "n_in": int(n_in), "sr": INTERNAL_SR}
        ]
        if st["eq"] and r[6].random() < st["eq"]["p"]:
            c = st["eq"]
            chain.append(
                {"step": "eq", "tilt_db_per_oct": uniform(r[6], c["tilt_db_per_oct"]), "max_db": c["max_db"]}
            )
        if st["rir"] and r[0].random() < st["rir"]["p"]:
            chain.append(self._draw_rir(r[0]))
        if st["noise"] and r[1].random() < st["noise"]["p"]:
            chain.append(self._draw_noise(r[1]))
        chain.append(
            {
                "step": "band",
                "band": self.band.name,
                "sr": out_sr,
                "lo_hz": self.band.lo_hz,
                "hi_hz": self.band.hi_hz,
            }
        )
        if st["loudness"]:
            c = st["loudness"]
            target = uniform(r[2], c["target_dbfs"])
            ceiling = float(c["peak_ceiling"])
            if c.get("crest_db"):  # AGC limiter: peaks at most crest_db above the target level
                ceiling = min(ceiling, 10 ** ((target + uniform(r[2], c["crest_db"])) / 20))
            chain.append(
                {
                    "step": "loudness",
                    "method": c["method"],
                    "target_dbfs": target,
                    "peak_ceiling": ceiling,
                }
            )
        name = codec if codec is not None else self._draw_codec(r[3])
        chain.append(
            {
                "step": "codec",
                "name": name,
                "params": cd.draw_params(name, self.codec_params.get(name, {}), r[3]),
            }
        )
        if st["frame_loss"] and r[4].random() < st["frame_loss"]["p"]:
            c = st["frame_loss"]
            frame = max(1, round(c["frame_ms"] * out_sr / 1000.0))
            prob, bursty = uniform(r[4], c["loss_prob"]), bool(r[4].random() < c["bursty_p"])
            lost = draw_lost_frames(
                math.ceil(n_out / frame), prob, bursty, float(c["mean_burst_frames"]), r[4]
            )
            keys = ("frame_ms", "mean_burst_frames", "attenuation_db", "fade_ms")
            chain.append({"step": "frame_loss", "loss_prob": prob, "bursty": bursty, **{k: c[k] for k in keys},
                          "n_lost": len(lost), "lost_frames": lost})  # fmt: skip
        if st["gain"]:
            g = uniform(r[5], st["gain"]["gain_db"])
            chain.append({"step": "gain", "gain_db": g, "peak_ceiling": st["gain"]["peak_ceiling"]})
        return plain(chain)

    def _draw_rir(self, rng: np.random.Generator) -> dict[str, Any]:
        c, files = self.steps["rir"], self._assets.names("rir")
        if not files or rng.random() < c["synthetic_p"]:
            rt60, drr = uniform(rng, c["rt60_s"]), uniform(rng, c["drr_db"])
            return {
                "step": "rir",
                "kind": "synthetic",
                "rt60_s": rt60,
                "drr_db": drr,
                "seed": int(rng.integers(2**32)),
            }
        return {"step": "rir", "kind": "file", "file": str(rng.choice(files))}

    def _draw_noise(self, rng: np.random.Generator) -> dict[str, Any]:
        c, files = self.steps["noise"], self._assets.names("noise")
        types = {k: float(w) for k, w in c["types"].items() if w > 0 and (k != "file" or files)}
        if not types:
            raise RcbError(
                "channel.noise: no noise type with weight > 0 is usable (no noise files in noise_dir?)"
            )
        names = sorted(types)
        w = np.array([types[k] for k in names])
        kind = str(names[int(rng.choice(len(names), p=w / w.sum()))])
        out: dict[str, Any] = {"step": "noise", "type": kind, "snr_db": uniform(rng, c["snr_db"])}
        if kind == "file":
            name = str(rng.choice(files))
            # A few minutes of recorded noise serve every call: without a per-call speed and direction,
            # calls that draw overlapping stretches share identical noise, which a fingerprint
            # matcher (rightly) reads as shared audio. Speed also shifts the noise spectrum.
            out.update(
                file=name, offset=int(rng.integers(self._assets.length("noise", name))),
                speed=round(float(rng.uniform(*NOISE_SPEED)), 4), reverse=bool(rng.random() < 0.5),
            )  # fmt: skip
        else:
            out["seed"] = int(rng.integers(2**32))
        return out

    def _draw_codec(self, rng: np.random.Generator) -> str:
        names = [c for c in self.codec_names() if self.codec_weights[c] > 0]
        if not names:
            raise RcbError(
                f"channel.codecs: no available codec has weight > 0 (configured {self.codec_weights})"
            )
        w = np.array([self.codec_weights[c] for c in names])
        return names[int(rng.choice(len(names), p=w / w.sum()))]

    # ------------------------------------------------------------------ running it
    def apply(
        self, audio: np.ndarray, sr: int, rng: np.random.Generator, codec: str | None = None
    ) -> ChannelResult:
        """Pass ``audio`` (T,) at ``sr`` through a freshly drawn chain; ``codec=None`` draws one by weight."""
        x = _check_input(audio, sr)
        return self._run(x, int(sr), self.plan(x.size, int(sr), rng, codec), replay=False)

    def replay(self, audio: np.ndarray, sr: int, chain: list[dict[str, Any]]) -> ChannelResult:
        """Re-run a recorded ``chain`` (from a ChannelResult, possibly via JSON) on ``audio`` (T,)."""
        x = _check_input(audio, sr)
        first = chain[0] if chain else {}
        if first.get("step") != "input" or first.get("sr_in") != int(sr) or first.get("n_in") != x.size:
            raise RcbError(
                f"chain was recorded for {first.get('n_in')} samples at {first.get('sr_in')} Hz, got {x.size} at {sr}"
            )
        return self._run(x, int(sr), copy.deepcopy(plain(chain)), replay=True)

    def _run(self, x: np.ndarray, sr: int, chain: list[dict[str, Any]], replay: bool) -> ChannelResult:
        snr, codec = None, ""
        for st in chain:
            kind = st["step"]
            if kind == "input":
                x, sr = to_rate(x, sr, st["sr"]), st["sr"]
            elif kind == "eq":
                x, st["gains_db"] = equalise(x, sr, st["tilt_db_per_oct"], st["max_db"])
            elif kind == "rir":
                if st["kind"] == "synthetic":
                    h = synthetic_rir(sr, st["rt60_s"], st["drr_db"], st["seed"])
                else:
                    h = prepare_rir(self._assets.load(st["file"]), sr)
                x = apply_rir(x, h)
            elif kind == "noise":
                if st["type"] == "file":
                    nz = file_noise(self._assets.load(st["file"]), st, x.size)
                else:
                    nz = coloured_noise(st["type"], x.size, sr, st["seed"])
                if not replay:
                    level = active_speech_level(band_limit(x, sr, self.band), sr)
                    st["noise_gain_db"] = noise_gain_db(level, band_limit(nz, sr, self.band), st["snr_db"])
                if st["noise_gain_db"] is not None:
                    x = x + db_to_gain(st["noise_gain_db"]) * nz
                snr = st["snr_db"]
            elif kind == "band":
                x = band_limit(to_rate(x, sr, st["sr"]), st["sr"], get_band(st["band"]))
                sr = st["sr"]
            elif kind == "loudness":
                if not replay:
                    level = speech_level(x, sr, st["method"])
                    st["level_dbfs"] = level
                    st["gain_db"] = 0.0 if level is None else st["target_dbfs"] - level
                x, st["limited_samples"] = peak_limit(x * db_to_gain(st["gain_db"]), st["peak_ceiling"], sr)
            elif kind == "codec":
                x, st["info"] = cd.roundtrip(x, sr, st["name"], st["params"])
                codec = st["name"]
            elif kind == "frame_loss":
                frame = max(1, round(st["frame_ms"] * sr / 1000.0))
                fade = max(1, round(st["fade_ms"] * sr / 1000.0))
                x = conceal(x, st["lost_frames"], frame, fade, st["attenuation_db"])
            elif kind == "gain":
                x, st["limited_samples"] = peak_limit(x * db_to_gain(st["gain_db"]), st["peak_ceiling"], sr)
            else:
                raise RcbError(f"unknown channel step {kind!r} in chain")
        y = np.clip(np.nan_to_num(x), -1.0, 1.0).astype(np.float32)
        return ChannelResult(y, int(sr), codec, None if snr is None else float(snr), plain(chain))


def _check_input(audio: np.ndarray, sr: int) -> np.ndarray:
    """Validate channel input: 1-D, non-empty, finite, positive rate; returns float64 (T,)."""
    x = np.asarray(audio)
    if x.ndim != 1 or x.size == 0:
        raise RcbError(f"channel input must be non-empty mono audio of shape (T,), got shape {x.shape}")
    if int(sr) <= 0:
        raise RcbError(f"channel input sample rate must be positive, got {sr}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise RcbError("channel input contains NaN or Inf samples")
    return x
