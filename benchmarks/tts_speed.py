"""TTS speed: seconds of audio per wall-clock second (× real time) for every configs/tts system.

Each system renders the same ten short robocall-like sentences (Mandarin systems their
Mandarin versions) after one untimed warm-up call (model load, process start). The process is
pinned to one CPU core, as corpus workers are, and a reference system measured in the same
run gives machine-independent ratios.

    python benchmarks/tts_speed.py [--reference espeak-en-us-m3] [--systems a b ...] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from robocall_bench.seeding import rng_for
from robocall_bench.tts import available_systems, load_engine

SENTENCES = {
    "en": [
        "This is an important message regarding your car's extended warranty.",
        "Your social security number has been suspended due to suspicious activity.",
        "Press one to speak with a representative now.",
        "We have been trying to reach you about your account.",
        "Congratulations, you have been selected for a free cruise to the Bahamas.",
        "This is your final notice before legal action is taken.",
        "Your credit card interest rate can be lowered today.",
        "Please call us back at your earliest convenience.",
        "To be removed from our list, press nine.",
        "Thank you, and have a wonderful day.",
    ],
    "zh": [
        "这是一条关于您汽车延长保修的重要信息。",
        "由于可疑活动，您的社保号码已被暂停。",
        "请按一号键与客服代表通话。",
        "我们一直在尝试联系您，事关您的账户。",
        "恭喜您被选中，获得免费邮轮旅行。",
        "这是采取法律行动前的最后通知。",
        "您的信用卡利率今天就可以降低。",
        "请您尽快给我们回电。",
        "如需退订，请按九号键。",
        "谢谢，祝您愉快。",
    ],
}


def measure(system: str, repeat: int) -> dict[str, float | str]:
    """Render the sentences ``repeat`` times; returns audio seconds, wall seconds and × real time."""
    engine = load_engine(system)
    lang = "en" if "en" in engine.languages else engine.languages[0]
    try:
        engine.synthesize(SENTENCES[lang][0], lang, rng_for(0, system, "warm-up"))
        audio_s, t0 = 0.0, time.perf_counter()
        for r in range(repeat):
            for i, text in enumerate(SENTENCES[lang]):
                out = engine.synthesize(text, lang, rng_for(r, system, i))
                audio_s += out.audio.size / out.sample_rate
        wall = time.perf_counter() - t0
    finally:
        engine.close()
    return {"system": system, "language": lang, "audio_s": audio_s, "wall_s": wall, "xrt": audio_s / wall}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--systems", nargs="*", default=None, help="system ids (default: all in configs/tts)")
    ap.add_argument("--reference", default="espeak-en-us-m3", help="system the ratios are relative to")
    ap.add_argument("--repeat", type=int, default=1, help="passes over the ten sentences")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):  # one core, inherited by flite/festival subprocesses
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    # Copy-synthesis vocoders read audio, not text: benchmarks/vocoder_speed.py measures them.
    systems = args.systems or [s for s in available_systems() if not getattr(load_engine(s), "copy", False)]
    ref = measure(args.reference, args.repeat)
    rows = [ref if s == args.reference else measure(s, args.repeat) for s in systems]
    print(f"{'system':<22} {'lang':<4} {'audio s':>8} {'wall s':>8} {'x real time':>12} {'vs ref':>8}")
    for row in rows:
        ratio = float(row["xrt"]) / float(ref["xrt"])
        print(
            f"{row['system']:<22} {row['language']:<4} {row['audio_s']:>8.1f} {row['wall_s']:>8.2f} "
            f"{row['xrt']:>12.1f} {ratio:>8.3f}"
        )
    print(f"reference: {args.reference} ({float(ref['xrt']):.1f}x real time); single core, warm engines")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"reference": args.reference, "rows": rows}, f, indent=2)
    return 0 if all(np.isfinite(float(r["xrt"])) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
