"""End-to-end corpus builds on a synthetic corpora root: determinism, resume, shards, outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robocall_bench.config import compose
from robocall_bench.contract import PROTOCOL_COLUMNS, read_protocol, sha256_file
from robocall_bench.corpus.build import build
from robocall_bench.corpus.merge import merge
from robocall_bench.corpus.verify import verify
from robocall_bench.errors import RcbError

# Fast engines keep the suite quick; every engine is covered by tests/test_tts.py.
FAST = [
    "tts.systems=[espeak-en-us-m3,flite-slt,flite-awb,espeak-cmn-m1,espeak-cmn-f2]",
    "protocol.eval_only_systems=[flite-awb,espeak-cmn-f2]",
]


def _cfg(root: Path, out: Path, *extra: str):
    return compose(
        "corpus", ["preset=tiny", f"corpora_root={root}", f"out={out}", "audit=false", *FAST, *extra]
    )


@pytest.fixture(scope="module")
def tiny(corpora_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "c"
    manifest, _ = build(_cfg(corpora_root, out))
    assert manifest is not None
    return out


def test_outputs_and_protocol(tiny):
    rows = read_protocol(tiny).rows()
    assert list(rows[0]) == list(PROTOCOL_COLUMNS)
    assert 30 <= len(rows) <= 60
    labels = [r["label"] for r in rows]
    assert labels.count("human") == labels.count("robocall")
    assert {r["split"] for r in rows} == {"train", "dev", "eval"}
    assert {r["language"] for r in rows} == {"en", "zh"}
    m = json.loads((tiny / "manifest.json").read_text())
    assert m["protocol_sha256"] == sha256_file(tiny / "protocol.tsv")
    assert set(m["files"]) == {r["path"] for r in rows}
    assert m["engines"]["flite-slt"] and m["packages"]["numpy"] and m["config"]["seed"] == 0
    assert m["counts"]["total"]["utterances"] == len(rows)
    meta = [json.loads(line) for line in (tiny / "metadata.jsonl").read_text().splitlines()]
    assert all(x["chain"] and x["sample_rate"] == 8000 for x in meta)
    cut = {x["utt_id"]: x["cut_s"] for x in meta}
    assert all(cut[x["pair"]] == x["cut_s"] for x in meta)  # pairs share one speech length
    label = {r["utt_id"]: r["label"] for r in rows}
    assert all({label[x["utt_id"]], label[x["pair"]]} == {"human", "robocall"} for x in meta)
    card = (tiny / "README.md").read_text()
    assert card.startswith("---\n") and "license" in card and "Known limits" in card
    assert verify(tiny)


def test_same_seed_same_bytes_any_worker_count_and_shards(corpora_root, tiny, tmp_path):
    other = tmp_path / "again"
    build(_cfg(corpora_root, other, "num_workers=2"))
    a, b = (json.loads((d / "manifest.json").read_text()) for d in (tiny, other))
    assert a["protocol_sha256"] == b["protocol_sha256"] and a["files"] == b["files"]
    sharded = tmp_path / "sharded"
    for i in range(2):
        manifest, _ = build(_cfg(corpora_root, sharded, f"shard={i}/2"))
        assert manifest is None
    assert merge(sharded)["protocol_sha256"] == a["protocol_sha256"]
    different = tmp_path / "seed1"
    build(_cfg(corpora_root, different, "seed=1"))
    assert json.loads((different / "manifest.json").read_text())["protocol_sha256"] != a["protocol_sha256"]


def test_resume_skips_finished_and_ignores_partial_files(corpora_root, tiny, tmp_path):
    import shutil

    out = tmp_path / "resume"
    shutil.copytree(tiny, out)
    rows = read_protocol(out).rows()
    victim = out / rows[0]["path"]
    victim.unlink()
    (victim.parent / f".{victim.name}.abc.tmp").write_bytes(b"half")  # what a killed write leaves
    (out / "protocol.tsv").unlink()
    _, t = build(_cfg(corpora_root, out))
    assert t["audio_s"] < 2 * 14 + 2  # only the missing utterance's pair (two calls of <= 14 s) was rendered
    assert sha256_file(out / "protocol.tsv") == sha256_file(tiny / "protocol.tsv")
    assert verify(out)
    victim.write_bytes(victim.read_bytes()[:-10])  # tampering is caught
    assert not verify(out)


def test_merge_requires_every_shard(corpora_root, tmp_path):
    out = tmp_path / "half"
    build(_cfg(corpora_root, out, "shard=0/2"))
    with pytest.raises(RcbError, match="not rendered"):
        merge(out)


def test_bad_config_values_are_clear(corpora_root, tmp_path):
    with pytest.raises(RcbError, match="unknown tts 'nope'"):
        build(_cfg(corpora_root, tmp_path / "x", "tts.systems=[nope]"))
    with pytest.raises(RcbError, match="plan.split_fractions"):
        build(_cfg(corpora_root, tmp_path / "x", "plan.split_fractions=[0.5,0.5,0.5]"))
    with pytest.raises(RcbError, match="shard="):
        build(_cfg(corpora_root, tmp_path / "x", "shard=3/2"))


def test_audit_and_hf_dataset(tiny, tmp_path_factory):
    from robocall_bench.corpus.audit import run_audit
    from robocall_bench.corpus.hf import decode, export_parquet, load_dataset_dict

    res = run_audit(tiny, num_workers=1)
    assert 0.0 <= res["joint_auc"] <= 1.0 and set(res["per_feature_auc"]) >= {"duration", "rms_db", "zcr"}
    assert json.loads((tiny / "audit.json").read_text())["joint_auc"] == res["joint_auc"]
    dd = load_dataset_dict(tiny)
    assert set(dd) == {"train", "dev", "eval"} and sum(len(d) for d in dd.values()) == len(
        read_protocol(tiny)
    )
    x, sr = decode(dd["eval"][0]["audio"])
    assert sr == 8000 and x.ndim == 1
    out = tmp_path_factory.mktemp("export")
    (out / "parquet").mkdir()
    (out / "parquet" / "stale.parquet").write_bytes(b"old")  # an earlier, bigger export's shard
    export_parquet(tiny, out, max_shard_bytes=20_000)  # tiny shards: several per split
    shards = sorted(p.name for p in (out / "parquet").glob("eval-*.parquet"))
    assert len(shards) > 1 and shards[0].endswith(f"-00000-of-{len(shards):05d}.parquet")
    assert not (out / "parquet" / "stale.parquet").exists()
    from datasets import load_dataset

    ds = load_dataset("parquet", data_files={"eval": str(out / "parquet" / "eval-*.parquet")}, split="eval")
    assert ds["utt_id"] == dd["eval"]["utt_id"]  # shards keep the protocol order
    assert ds[0]["audio"]["bytes"][:4] == b"fLaC"
    x2, sr2 = decode(ds[0]["audio"])
    assert sr2 == 8000 and np.array_equal(x2, decode(dd["eval"][0]["audio"])[0])
    # the card's front matter names the shards: the exported folder loads as a Hub repo would
    hub = load_dataset(str(out))
    assert {s: len(v) for s, v in hub.items()} == {s: len(v) for s, v in dd.items()}


def test_cli_builds_and_errors(corpora_root, tmp_path):
    out = tmp_path / "cli"
    cmd = [
        sys.executable,
        "-m",
        "robocall_bench.cli",
        "corpus",
        "preset=tiny",
        f"out={out}",
        "audit=false",
        *FAST,
    ]
    env = {"RCB_CORPORA": str(corpora_root), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "protocol sha256" in r.stdout and (out / "protocol.tsv").is_file()
    r = subprocess.run([sys.executable, "-m", "robocall_bench.cli", "corpus", "verify", f"corpus={out}"],
                       capture_output=True, text=True, env=env)  # fmt: skip
    assert r.returncode == 0 and "OK" in r.stdout
    r = subprocess.run([*cmd[:4], "corpora_root=/nonexistent"], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([*cmd[:4], "audit", "corpus="], capture_output=True, text=True, env=env)
    assert r.returncode == 2
    r = subprocess.run([sys.executable, "-m", "robocall_bench.cli", "--help"], capture_output=True, text=True)
    assert "corpus" in r.stdout


def _verify_text(corpus: Path) -> tuple[bool, str]:
    import io

    from rich.console import Console

    buf = io.StringIO()
    ok = verify(corpus, console=Console(file=buf, width=400))
    return ok, buf.getvalue()


def test_verify_fails_on_extra_audio_file(tiny, tmp_path):
    import shutil

    out = tmp_path / "extra"
    shutil.copytree(tiny, out)
    row = read_protocol(out).rows()[0]
    stray = out / "audio" / row["split"] / "stray.flac"
    shutil.copy(out / row["path"], stray)  # a valid FLAC that no protocol row names
    ok, text = _verify_text(out)
    assert not ok and f"audio/{row['split']}/stray.flac: extra file" in text and "Delete the 1 extra" in text
    stray.unlink()
    assert _verify_text(out)[0]
    m = json.loads((out / "manifest.json").read_text())
    m["files"]["../outside.flac"] = "0" * 64  # a manifest naming a file outside the corpus
    (out / "manifest.json").write_text(json.dumps(m))
    ok, text = _verify_text(out)
    assert not ok and "../outside.flac: path outside the corpus folder" in text


def test_rebuild_rerenders_a_corrupt_flac_verify_flagged(corpora_root, tiny, tmp_path):
    import shutil

    out = tmp_path / "corrupt"
    shutil.copytree(tiny, out)
    victim = out / read_protocol(out).rows()[3]["path"]
    good = victim.read_bytes()
    victim.write_bytes(good[:200] + bytes(len(good) - 200))  # same size, zeroed audio frames
    ok, text = _verify_text(out)
    assert not ok and "sha256 mismatch" in text and "rendered again" in text
    _, t = build(_cfg(corpora_root, out))
    assert 0 < t["audio_s"] < 10  # only the damaged pair was rendered again
    assert victim.read_bytes() == good
    assert _verify_text(out)[0]
