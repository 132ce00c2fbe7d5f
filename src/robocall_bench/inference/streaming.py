"""Streaming decisions on live calls: audio arrives in chunks, every chunk yields a score of the
audio so far (the prefix, never a sliding window), equal to the offline score of that prefix.

- :class:`RescoreStream` (any scorer, e.g. LFCC-LCNN, whose BLSTM reads the prefix backwards):
  re-scores the whole prefix at every decision, ``scorer.score([pre(audio[:t])])``; O(t) a decision.
- :class:`GMMStream` (LFCC-GMM): resampling, STFT and filterbank energies are computed once per new
  chunk and cached (O(new audio)). The prefix's level normalisation (``Preprocess.normalize``)
  changes the gain of every frame at every decision, and ``log(g^2 E + 1e-6)`` does not separate
  the gain, so with ``rms``/``peak`` log, DCT, deltas and the GMMs are redone on all cached frames
  (cheap per frame, O(t)); with a constant gain (``normalize=none``, or ``freeze_gain_s``: the gain
  of the first ``freeze_gain_s`` seconds is kept) the frame LLRs are cached too: O(new audio).
- :class:`FingerprintStream`: the 8 kHz log spectrogram is computed once per new chunk and cached;
  peaks and hashes are recomputed from it (whitening and the level gate use the whole prefix), and
  only landmarks not seen at the previous decision are looked up in the index (their postings are
  cached), so the index is queried incrementally; the votes equal ``index.query(fingerprint(audio[:t]))``.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.signal import firwin, resample_poly

from ..fingerprint.index import Match, NumpyIndex, top_matches
from ..fingerprint.landmarks import (
    SAMPLE_RATE as FP_SR,
)
from ..fingerprint.landmarks import (
    Fingerprint,
    LandmarkConfig,
    find_peaks,
    log_spectrogram,
    pair_hashes,
)
from .preprocess import _SILENT_RMS, Preprocess

_CTX = 32  # input samples of resampler context either side (scipy's 2:1 filter reaches 10)


class _Buffer:
    """A growing 1-D float32 array whose head can be dropped: absolute index ``i`` is ``a[i - start]``."""

    def __init__(self) -> None:
        self.a, self.start, self.end = np.zeros(1024, np.float32), 0, 0

    def append(self, x: np.ndarray) -> None:
        n = self.end - self.start
        if n + x.size > self.a.size:
            a = np.zeros(max(2 * self.a.size, n + x.size), np.float32)
            a[:n] = self.a[:n]
            self.a = a
        self.a[n : n + x.size] = x
        self.end += x.size

    def view(self, i: int, j: int | None = None) -> np.ndarray:
        return self.a[i - self.start : (self.end if j is None else j) - self.start]

    def drop_before(self, i: int) -> None:
        k = min(i, self.end) - self.start
        if k > 0:
            self.a[: self.end - i] = self.a[k : self.end - self.start].copy()
            self.start += k


class RescoreStream:
    """Naive streaming: ``push(chunk (n,) at sr) -> score`` of ``scorer.score([pre(prefix, sr)])``."""

    def __init__(self, scorer, sr: int) -> None:
        self.scorer, self.sr, self.raw = scorer, int(sr), _Buffer()

    def push(self, chunk: np.ndarray) -> float:
        self.raw.append(np.asarray(chunk, np.float32))
        return float(self.scorer.score([self.scorer.pre(self.raw.view(0), self.sr)])[0])


class GMMStream:
    """Incremental LFCC-GMM decisions: ``push(chunk (n,) at sr) -> mean frame LLR of the prefix``.

    Equals ``model.score_batch(pre(audio[:t], sr))`` (float32 rounding of the gain aside); with
    ``freeze_gain_s``, after that many seconds it equals ``score_batch(g0 * resample(audio[:t]))``
    with ``g0`` the normalisation gain of the prefix at the first decision at or past it.
    """

    def __init__(self, model, pre: Preprocess, sr: int, freeze_gain_s: float | None = None) -> None:
        lf = model.frontend
        self.model, self.pre, self.sr, self.freeze_s = model, pre, int(sr), freeze_gain_s
        g = np.gcd(self.sr, pre.sample_rate)
        self.up, self.down = pre.sample_rate // g, self.sr // g
        m = max(self.up, self.down)  # resample_poly's own filter (designed once, not at every chunk)
        self.fir = firwin(20 * m + 1, 1.0 / m, window=("kaiser", 5.0)).astype(np.float32)
        self.n_fft, self.hop, self.pre_emph, self.deltas = lf.n_fft, lf.hop_length, lf.pre_emphasis, lf.deltas
        self.spec, self.fmat, self.dct = lf.lfcc.Spectrogram, lf.lfcc.filter_mat, lf.lfcc.dct_mat  # float64
        self.raw, self.y = _Buffer(), _Buffer()  # input audio; resampled audio (final samples only)
        self.n_final = 0  # resampled samples that later input cannot change
        self.ssq, self.peak = 0.0, 0.0  # sum of squares and max |y| of the final resampled samples
        self.E: list[np.ndarray] = []  # filterbank energies (frames, n_filter) of final frames, gain 1
        self.n_e = 0
        self.gain: float | None = None  # gain of the cached LLRs (None: nothing cached)
        self.frozen = False
        self.llr_sum, self.n_llr = 0.0, 0  # cached sum of LLRs of frames [0, n_llr)
        # both diagonal GMMs as one (F, D) -> (F, 2K) quadratic form: sklearn's score_samples, without
        # its per-call input checks (they cost more than the few new frames of a chunk)
        gm = [model.gmms[c] for c in ("robocall", "human")]
        prec = np.concatenate([1.0 / g.covariances_ for g in gm])  # (2K, D)
        mu = np.concatenate([g.means_ for g in gm])
        self.k = len(gm[0].weights_)
        self.quad, self.lin = -0.5 * prec.T, (mu * prec).T  # (D, 2K)
        self.const = np.concatenate([np.log(g.weights_) for g in gm]) - 0.5 * (
            mu.shape[1] * np.log(2 * np.pi) - np.log(prec).sum(1) + (mu * mu * prec).sum(1)
        )

    def _resampled_tail(self) -> np.ndarray:
        """Bring the final resampled samples up to date; returns the not-yet-final tail."""
        n_in = self.raw.end
        if self.up == self.down:
            new = self.raw.view(self.n_final)
            self.y.append(new)
            self._stats(new)
            self.n_final = n_in
            self.raw.drop_before(n_in)
            return new[:0]
        a = max(0, (self.n_final * self.down // self.up - _CTX) // self.down * self.down)
        seg = resample_poly(self.raw.view(a), self.up, self.down, window=self.fir).astype(np.float32)
        off = a * self.up // self.down
        final = max(self.n_final, (n_in - _CTX) * self.up // self.down)
        new = seg[self.n_final - off : final - off]
        self.y.append(new)
        self._stats(new)
        self.n_final = final
        self.raw.drop_before(max(0, (final * self.down // self.up - 2 * _CTX) // self.down * self.down))
        return seg[final - off :]

    def _stats(self, x: np.ndarray) -> None:
        self.ssq += float(np.square(x, dtype=np.float64).sum())
        self.peak = max(self.peak, float(np.abs(x).max(initial=0.0)))

    def _energies(self, x: np.ndarray, prev: float) -> np.ndarray:
        """Filterbank energies (frames, n_filter) float64 of whole frames of ``x`` (preceded by ``prev``)."""
        z = torch.from_numpy(x.astype(np.float64))
        if self.pre_emph:
            z = torch.cat([z[:1] - self.pre_emph * prev, z[1:] - self.pre_emph * z[:-1]])
        return (self.spec(z).T @ self.fmat).numpy()  # (frames, n_filter)

    def _gain(self, tail: np.ndarray) -> float:
        n = self.n_final + tail.size
        if self.pre.normalize == "none" or n == 0:
            return 1.0
        if self.pre.normalize == "peak":
            peak = max(self.peak, float(np.abs(tail).max(initial=0.0)))
            return 1.0 if peak < _SILENT_RMS else float(np.float32(10 ** (-1 / 20) / peak))
        rms = np.sqrt((self.ssq + float(np.square(tail, dtype=np.float64).sum())) / n)
        return 1.0 if rms < _SILENT_RMS else float(np.float32(10 ** (self.pre.target_dbfs / 20) / rms))

    def push(self, chunk: np.ndarray) -> float:
        self.raw.append(np.asarray(chunk, np.float32))
        tail = self._resampled_tail()
        n = self.n_final + tail.size
        if n < self.n_fft:  # shorter than one frame: the offline path pads; rare, score it offline
            wave = np.concatenate([self.y.view(self.y.start), tail]) * np.float32(self._gain(tail))
            return float(self.model.score_batch(torch.from_numpy(wave)[None], torch.tensor([n]))[0])
        n_e = (self.n_final - self.n_fft) // self.hop + 1 if self.n_final >= self.n_fft else 0
        if n_e > self.n_e:  # new final frames: samples [hop * n_e_old - 1, hop * (n_e - 1) + n_fft)
            s = self.hop * self.n_e
            prev = float(self.y.view(s - 1, s)[0]) if s > 0 else 0.0
            self.E.append(self._energies(self.y.view(s, self.hop * (n_e - 1) + self.n_fft), prev))
            self.n_e = n_e
            self.y.drop_before(self.hop * n_e - 1)
        n_fr = (n - self.n_fft) // self.hop + 1
        if not self.frozen:
            g = self._gain(tail)
            self.frozen = self.freeze_s is not None and n >= self.freeze_s * self.pre.sample_rate
            if g != self.gain:
                self.gain, self.llr_sum, self.n_llr = g, 0.0, 0
        c0, lo = self.n_llr, max(0, self.n_llr - 2)
        s = self.hop * self.n_e
        rest = np.concatenate([self.y.view(max(s, self.y.start)), tail])  # frames [n_e, n_fr)
        prev = float(self.y.view(s - 1, s)[0]) if s > 0 else 0.0
        E = (
            np.concatenate([*self.E, self._energies(rest, prev)])
            if n_fr > self.n_e
            else np.concatenate(self.E)
        )
        if len(self.E) > 1:
            self.E = [np.concatenate(self.E)]
        x = torch.from_numpy(np.log(self.gain**2 * E[lo:n_fr] + 1e-6)) @ self.dct  # (frames, n_lfcc)
        if self.deltas:
            d1 = _delta(x)
            x = torch.cat([x, d1, _delta(d1)], dim=1)
        x = x[c0 - lo :].numpy()
        z = (x * x) @ self.quad + x @ self.lin + self.const  # (frames, 2K) log w_k N(x; k)
        llr = _logsumexp(z[:, : self.k]) - _logsumexp(z[:, self.k :])
        done = max(c0, self.n_e - 2)  # frames whose features (deltas: +-2 frames) no later audio changes
        self.llr_sum += float(llr[: done - c0].sum())
        self.n_llr = done
        return (self.llr_sum + float(llr[done - c0 :].sum())) / n_fr


def _logsumexp(z: np.ndarray) -> np.ndarray:
    """log(sum(exp(z), axis=1)) of (frames, K), stably."""
    m = z.max(axis=1)
    return m + np.log(np.exp(z - m[:, None]).sum(axis=1))


def _delta(x: torch.Tensor) -> torch.Tensor:
    """3-tap regression along frames of x (frames, d) with replicate edges (frontends._delta)."""
    p = torch.cat([x[:1], x, x[-1:]])
    return 0.5 * (p[2:] - p[:-2])


class FingerprintStream:
    """Incremental campaign look-ups: ``push(chunk (n,) at 8 kHz) -> top matches`` of the prefix
    (:meth:`NumpyIndex.query` of ``fingerprint(audio[:t])``); ``self.fp`` is the prefix's fingerprint."""

    def __init__(self, index: NumpyIndex, cfg: LandmarkConfig | None = None, top: int = 5,
                 exclude: int | None = None) -> None:  # fmt: skip
        self.index, self.cfg, self.top, self.exclude = index, cfg or LandmarkConfig(), top, exclude
        self.raw = _Buffer()
        self.S: list[np.ndarray] = []  # log spectrogram rows (frames, bins) of whole frames
        self.L: list[np.ndarray] = []  # frame levels (frames,)
        self.n_frames = 0
        self.codes = np.zeros(0, np.int64)  # unique landmarks (hash << 32 | frame) of the last decision
        self.lens = np.zeros(0, np.int64)  # their postings: counts, keys, frames (CSR)
        self.pk, self.pt = np.zeros(0, np.int32), np.zeros(0, np.int32)
        self.fp = Fingerprint(np.zeros(0, np.uint32), np.zeros(0, np.int32), 0.0)
        self.n_new = 0

    def push(self, chunk: np.ndarray) -> list[Match]:
        cfg = self.cfg
        self.raw.append(np.asarray(chunk, np.float32))
        n_in = self.raw.end
        if n_in < cfg.n_fft:
            return []
        n = (n_in - cfg.n_fft) // cfg.hop + 1
        if n > self.n_frames:
            s, lv = log_spectrogram(self.raw.view(cfg.hop * self.n_frames), cfg, with_level=True)
            self.S.append(s[: n - self.n_frames])
            self.L.append(lv[: n - self.n_frames])
            self.n_frames = n
            self.raw.drop_before(cfg.hop * n)
            self.S, self.L = [np.concatenate(self.S)], [np.concatenate(self.L)]
        t, f = find_peaks(self.S[0], cfg, self.L[0])
        h, a = pair_hashes(t, f, cfg)
        self.fp = Fingerprint(h, a, n_in / FP_SR, t, f, n)
        u, inv = np.unique((h.astype(np.int64) << 32) | a, return_inverse=True)
        pos = np.minimum(np.searchsorted(self.codes, u), max(self.codes.size - 1, 0))
        known = self.codes[pos] == u if self.codes.size else np.zeros(u.size, bool)
        lens = np.zeros(u.size, np.int64)
        lens[known] = self.lens[pos[known]]
        self.n_new = int((~known).sum())  # landmarks looked up in the index at this decision
        new_lens, nk, nt = self.index.lookup((u[~known] >> 32).astype(np.uint32))
        lens[~known] = new_lens
        old_start = np.cumsum(self.lens) - self.lens
        src_start = np.zeros(u.size, np.int64)
        src_start[known] = old_start[pos[known]]
        src_start[~known] = np.cumsum(new_lens) - new_lens + self.pk.size  # after the old postings
        k_all, t_all = np.concatenate([self.pk, nk]), np.concatenate([self.pt, nt])
        take = _ranges(src_start, lens)
        self.codes, self.lens, self.pk, self.pt = u, lens, k_all[take], t_all[take]
        occ = _ranges((np.cumsum(lens) - lens)[inv], lens[inv])  # one vote per landmark occurrence
        keys = self.pk[occ]
        delta = np.repeat((u & 0xFFFFFFFF)[inv], lens[inv]).astype(np.int32) - self.pt[occ]
        if self.exclude is not None:
            other = keys != self.exclude
            keys, delta = keys[other], delta[other]
        return top_matches(keys, delta, self.top)


def _ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenated ranges ``[starts[i], starts[i] + lens[i])`` as one index array."""
    total = int(lens.sum())
    return np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total)
