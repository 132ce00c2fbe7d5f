"""Source text files are decoded strictly: an undecodable byte is an error naming file and line,
never a silent U+FFFD that a TTS engine then reads out; another encoding is declared, not guessed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from robocall_bench.config import compose, config_dir
from robocall_bench.corpus.build import build
from robocall_bench.errors import RcbError
from robocall_bench.scripts.ftc import load_ftc
from robocall_bench.sources.aishell import AishellSource
from robocall_bench.sources.folder_csv import FolderCsvSource
from robocall_bench.sources.fsdd import FsddSource
from robocall_bench.sources.librispeech import LibriSpeechSource

FAST = [
    "tts.systems=[espeak-en-us-m3,flite-slt,flite-awb,espeak-cmn-m1,espeak-cmn-f2]",
    "protocol.eval_only_systems=[flite-awb,espeak-cmn-f2]",
]


def _aishell(encoding: str = "utf-8") -> AishellSource:
    return AishellSource(name="aishell", subdir="aishell-sample", language="zh", encoding=encoding)


def _gbk_aishell(corpora_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(corpora_root / "aishell-sample", root / "aishell-sample")
    tsv = root / "aishell-sample" / "transcripts.tsv"
    tsv.write_bytes(tsv.read_text(encoding="utf-8").encode("gbk"))
    return root


def test_gbk_transcripts_name_file_line_and_fix(corpora_root, tmp_path):
    root = _gbk_aishell(corpora_root, tmp_path)
    tsv = root / "aishell-sample" / "transcripts.tsv"
    with pytest.raises(RcbError) as e:
        _aishell().scan(root, 0)
    msg = str(e.value)
    assert f"{tsv}:2:" in msg  # line 1 is the ASCII header; the first Chinese text is on line 2
    assert "iconv -f GBK -t UTF-8" in msg and "encoding: gbk" in msg and "configs/source/aishell.yaml" in msg
    # declared, the same file reads as the UTF-8 original did
    items, skipped = _aishell("gbk").scan(root, 0)
    want, _ = _aishell().scan(corpora_root, 0)
    assert [i.text for i in items] == [i.text for i in want] and not skipped
    assert all("\ufffd" not in (i.text or "") for i in items)


def _latin1_librispeech(corpora_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(corpora_root / "librispeech-sample", root / "librispeech-sample")
    trans = root / "librispeech-sample" / "train-clean-100" / "101-5.trans.txt"
    trans.write_bytes("101-5-0000 HELLO THERE\n101-5-0001 CAFÉ NAÏVE\n".encode("latin-1"))
    return root


def test_latin1_trans_txt_is_refused_not_replaced(corpora_root, tmp_path):
    root = _latin1_librispeech(corpora_root, tmp_path)
    trans = root / "librispeech-sample" / "train-clean-100" / "101-5.trans.txt"
    src = LibriSpeechSource(name="librispeech", subdir="librispeech-sample", language="en")
    with pytest.raises(
        RcbError,
        match=r"101-5\.trans\.txt:2: byte\(s\) c9 at offset 37 \(after '101-5-0001 CAF'\) are not valid UTF-8",
    ) as e:
        src.scan(root, 0)
    assert str(trans) in str(e.value) and "iconv -f LATIN1" in str(e.value)
    ok = LibriSpeechSource(name="librispeech", subdir="librispeech-sample", language="en", encoding="latin-1")
    texts = {i.item_id: i.text for i in ok.scan(root, 0)[0]}
    assert texts["librispeech/101-5-0001"] == "Café naïve"


def test_build_stops_before_rendering_on_undecodable_text(corpora_root, tmp_path):
    root = _latin1_librispeech(corpora_root, tmp_path)
    for d in ("aishell-sample", "fsdd", "robocall-transcripts", "noise"):
        shutil.copytree(corpora_root / d, root / d)
    cfg = compose(
        "corpus", ["preset=tiny", f"corpora_root={root}", f"out={tmp_path / 'c'}", "audit=false", *FAST]
    )
    with pytest.raises(
        RcbError, match=r"101-5\.trans\.txt:2: .*encoding: latin1.*configs/source/librispeech"
    ):
        build(cfg)
    assert not (tmp_path / "c" / "audio").exists()


def test_utf8_bom_is_tolerated(corpora_root, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(corpora_root / "aishell-sample", root / "aishell-sample")
    tsv = root / "aishell-sample" / "transcripts.tsv"
    tsv.write_bytes(b"\xef\xbb\xbf" + tsv.read_bytes())  # what Windows editors write
    items, skipped = _aishell().scan(root, 0)
    assert len(items) == 12 and not skipped  # the header's first column is still "utt_id"


def test_ftc_folder_csv_and_fsdd_tables_are_strict(corpora_root, tmp_path):
    rc = tmp_path / "robocall-transcripts"
    rc.mkdir()
    text = "Votre carte bancaire a été bloquée, appuyez sur un pour parler à un conseiller."
    csv = f'file_name,language,transcript,case_details\na.wav,en,"{text}",x\n'
    (rc / "metadata.csv").write_bytes(csv.encode("cp1252"))
    with pytest.raises(RcbError, match=r"metadata\.csv:2: .*scripts\.ftc\.encoding=latin1"):
        load_ftc(tmp_path)
    scripts, _ = load_ftc(tmp_path, encoding="cp1252")
    assert scripts[0].text == text

    my = tmp_path / "mine"
    shutil.copytree(corpora_root / "aishell-sample" / "audio", my)
    first = sorted(my.glob("*.flac"))[0].name
    (my / "metadata.csv").write_bytes(f"path,speaker,text\n{first},s1,Ça va très bien\n".encode("latin-1"))
    fc = FolderCsvSource(name="mine", subdir="mine", language="fr")
    with pytest.raises(RcbError, match=r"metadata\.csv:2: "):
        fc.scan(tmp_path, 0)
    fc = FolderCsvSource(name="mine", subdir="mine", language="fr", encoding="latin-1")
    assert fc.scan(tmp_path, 0)[0][0].text == "Ça va très bien"

    fs = tmp_path / "fsdd"
    shutil.copytree(corpora_root / "fsdd", fs)
    (fs / "speakers.csv").write_bytes("speaker,gender\njackson,mâle\n".encode("latin-1"))
    with pytest.raises(RcbError, match=r"speakers\.csv:2: "):
        FsddSource(name="fsdd", subdir="fsdd", language="en").scan(tmp_path, 0)


def test_every_source_config_declares_an_encoding_and_bad_names_are_refused():
    for p in sorted((config_dir() / "source").glob("*.yaml")):
        cfg = OmegaConf.load(p)
        assert cfg.encoding == "utf-8", p
        instantiate(cfg)  # the key is accepted by the source class
    with pytest.raises(RcbError, match="not a known text encoding"):
        AishellSource(name="aishell", subdir="aishell-sample", language="zh", encoding="klingon")
