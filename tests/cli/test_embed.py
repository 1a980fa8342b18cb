"""Tests of ``finsta embed`` (finsta_cli/cli/embed.py, finsta_cli/tasks/embed.py): the files it
writes equal the embeddings ``eval`` scores, retrieval from them equals ``eval --task retrieval``,
and it runs as a stage (resume, shards, a corrupt video is a failed item)."""

# ruff: noqa: F811  (align_set is the session fixture imported from tests.align.fixtures)
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from finsta_cli.cli.app import app
from finsta_cli.datasets import load_task_dataset
from finsta_cli.hosts.factory import load_host
from finsta_cli.tasks.embedder import HostEmbedder, embed_videos, encode_texts
from finsta_cli.tasks.metrics import retrieval_metrics
from tests.align.fixtures import AlignSet, align_set  # noqa: F401  (the session fixture)
from tests.helpers import REPO

SPLIT = "train"  # 9 videos of the session's synth set


def _embed(runner: CliRunner, align_set: AlignSet, out: Path, *extra: str) -> Any:
    command = ["embed", "--checkpoint", str(align_set.checkpoint), "--out", str(out), "--cache",
               str(align_set.cache), "--threads", "1", "--device", "cpu", *extra]  # fmt: skip
    return runner.invoke(app, command)


def _ids(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _load(path: Path) -> torch.Tensor:
    tensor = torch.load(path, weights_only=True)
    assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float32
    return tensor


def test_embed_of_a_dataset_equals_eval(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    out = tmp_path / "embed"
    result = _embed(runner, align_set, out, "--data", str(align_set.data), "--split", SPLIT,
                    "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    videos, texts = _load(out / "video_embeddings.pt"), _load(out / "text_embeddings.pt")
    video_ids, text_ids = _ids(out / "video_ids.jsonl"), _ids(out / "text_ids.jsonl")
    assert summary["rows"] == {"video": len(video_ids), "text": len(text_ids)}
    # what eval --task retrieval embeds, through the same library calls
    dataset = load_task_dataset(align_set.data, SPLIT)
    host = HostEmbedder(load_host(align_set.checkpoint))
    gallery, caption_video = dataset.retrieval_index()
    expected = embed_videos(host, dataset, gallery, align_set.cache, quiet=True)
    assert [row["id"] for row in video_ids] == expected.ids == gallery
    assert [row["path"] for row in video_ids] == [str(dataset.videos[v].path) for v in gallery]
    assert torch.equal(videos, expected.embeddings)
    captions = [c.text for c in dataset.captions]
    assert [(row["id"], row["text"]) for row in text_ids] == [
        (c.text_id, c.text) for c in dataset.captions
    ]
    assert torch.equal(texts, encode_texts(host, captions))
    # retrieval from the files equals eval's metrics.json
    metrics_out = tmp_path / "eval"
    evaluated = runner.invoke(app, ["eval", "--task", "retrieval", "--checkpoint",
                                    str(align_set.checkpoint), "--data", str(align_set.data),
                                    "--split", SPLIT, "--cache", str(align_set.cache),
                                    "--threads", "1", "--device", "cpu", "--out",
                                    str(metrics_out), "-q"])  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    reference = json.loads((metrics_out / "metrics.json").read_text())
    row_of = {row["id"]: i for i, row in enumerate(video_ids)}
    owner = torch.tensor([row_of[row["id"].rsplit(".c", 1)[0]] for row in text_ids])
    assert owner.tolist() == caption_video
    ours = retrieval_metrics(texts, videos, owner)
    keys = ("t2v_r1", "t2v_r5", "t2v_r10", "t2v_medr", "t2v_meanr", "v2t_r1", "v2t_r5",
            "v2t_medr", "num_captions", "num_videos")  # fmt: skip
    assert {k: ours[k] for k in keys} == {k: reference[k] for k in keys}


def readme_example() -> str:
    """The Python retrieval example of README.md (after ``finsta embed ... --out emb/``)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split("<!-- embed-example -->\n```python\n", 1)[1].split("```", 1)[0]


def test_videos_and_texts_with_a_corrupt_video(
    runner: CliRunner,
    align_set: AlignSet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "clips"
    shutil.copytree(align_set.data / "videos", folder)
    (folder / "broken.mp4").write_bytes(b"not a video at all")
    names = sorted(p.stem for p in folder.glob("*.mp4"))
    lines = tmp_path / "queries.txt"
    lines.write_text("a red cube moves left\n\nthe ball enters\n", encoding="utf-8")
    out = tmp_path / "emb"
    result = _embed(runner, align_set, out, "--videos", str(folder), "--texts", str(lines), "--npy")
    assert result.exit_code == 3, result.output
    failures = _ids(out / "video_embeddings.failures.jsonl")
    assert [f["id"] for f in failures] == ["broken"] and "broken.mp4" in failures[0]["reason"]
    ids = [row["id"] for row in _ids(out / "video_ids.jsonl")]
    assert ids == [n for n in names if n != "broken"]
    videos = _load(out / "video_embeddings.pt")
    assert videos.shape[0] == len(ids)
    assert torch.allclose(videos.norm(dim=1), torch.ones(len(ids)))
    assert np.array_equal(np.load(out / "video_embeddings.npy"), videos.numpy())
    assert _ids(out / "text_ids.jsonl") == [
        {"id": "1", "text": "a red cube moves left"},
        {"id": "3", "text": "the ball enters"},
    ]
    assert _load(out / "text_embeddings.pt").shape == (2, videos.shape[1])
    # the README's example reads these files: the five videos nearest the first query
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    exec(readme_example(), {})
    nearest = (_load(out / "text_embeddings.pt")[0] @ videos.T).topk(5).indices.tolist()
    assert capsys.readouterr().out.strip() == str([ids[i] for i in nearest])
    manifest = json.loads((out / "video_embeddings.manifest.json").read_text())
    assert manifest["stage"] == "embed" and manifest["counts"]["failed"] == 1
    # a second run resumes: nothing is embedded again, the files are the same
    (folder / "broken.mp4").unlink()
    again = _embed(runner, align_set, out, "--videos", str(folder), "--texts", str(lines), "--json")
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["videos"]["done"] == 0 and summary["videos"]["skipped"] == len(ids)
    assert summary["texts"]["skipped"] == 1
    assert torch.equal(_load(out / "video_embeddings.pt"), videos)


def test_shards_then_a_whole_run_writes_the_files(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path
) -> None:
    out = tmp_path / "sharded"
    videos = str(align_set.data / "videos")
    done = 0
    for shard in ("0/2", "1/2"):
        result = _embed(runner, align_set, out, "--videos", videos, "--shard", shard, "--json")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert summary["files"] == {}
        done += summary["videos"]["done"]
    assert not (out / "video_embeddings.pt").exists()
    whole = _embed(runner, align_set, out, "--videos", videos, "--json")
    summary = json.loads(whole.stdout)
    assert summary["videos"]["done"] == 0 and summary["videos"]["skipped"] == done == 12
    direct = tmp_path / "direct"
    assert _embed(runner, align_set, direct, "--videos", videos, "-q").exit_code == 0
    # each video alone or in a batch: the same embedding up to float rounding
    assert torch.allclose(
        _load(out / "video_embeddings.pt"), _load(direct / "video_embeddings.pt"), atol=1e-6
    )
    assert _ids(out / "video_ids.jsonl") == _ids(direct / "video_ids.jsonl")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "give --videos, --texts or --data"),
        (["x.mp4"], 2, "video paths go after --videos"),
        (["--texts", "t.txt", "--data", "d"], 2, "not with --videos/--texts"),
        (["--texts", "t.txt", "--tsg", "t.jsonl"], 2, "only apply with --with-graphs"),
        (["--texts", "missing.txt"], 1, "missing.txt: no such file"),
    ],
)
def test_refusals(
    runner: CliRunner, align_set: AlignSet, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    (tmp_path / "t.txt").write_text("a dog\n")
    args = [str(tmp_path / a) if a.endswith((".txt", ".jsonl", ".mp4")) else a for a in args]
    result = _embed(runner, align_set, tmp_path / "out", *args)
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    missing = runner.invoke(app, ["embed", "--checkpoint", str(tmp_path / "none.pt"),
                                  "--out", str(tmp_path / "o"), "--texts",
                                  str(tmp_path / "t.txt")])  # fmt: skip
    assert missing.exit_code == 4 and "checkpoint not found" in missing.output


def test_with_graphs_gives_evals_fused_retrieval(
    runner: CliRunner, align_set: AlignSet, fusion_checkpoint: Path, tmp_path: Path
) -> None:
    graphs = ["--with-graphs", "--tsg", str(align_set.tsg), "--dsg", str(align_set.dsg)]
    common = ["--checkpoint", str(fusion_checkpoint), "--data", str(align_set.data),
              "--split", SPLIT, "--cache", str(align_set.cache), "--threads", "1", "--device",
              "cpu", "-q"]  # fmt: skip
    fused, plain = tmp_path / "fused", tmp_path / "plain"
    for out, extra in ((fused, graphs), (plain, [])):
        result = runner.invoke(app, ["embed", *common, "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
    evaluated = runner.invoke(app, ["eval", "--task", "retrieval", *common, "--out",
                                    str(tmp_path / "eval"), *graphs])  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    reference = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert reference["with_graphs"] is True
    videos, texts = _load(fused / "video_embeddings.pt"), _load(fused / "text_embeddings.pt")
    row_of = {row["id"]: i for i, row in enumerate(_ids(fused / "video_ids.jsonl"))}
    owner = [row_of[row["id"].rsplit(".c", 1)[0]] for row in _ids(fused / "text_ids.jsonl")]
    ours = retrieval_metrics(texts, videos, torch.tensor(owner))
    keys = ("t2v_r1", "t2v_r5", "t2v_medr", "t2v_meanr", "v2t_r1", "v2t_medr", "v2t_meanr")
    assert {k: ours[k] for k in keys} == {k: reference[k] for k in keys}
    # the graphs change the embeddings: the fused ones are not the host's own
    assert not torch.allclose(videos, _load(plain / "video_embeddings.pt"))
    assert not torch.allclose(texts, _load(plain / "text_embeddings.pt"))
    # the same graphs for videos and texts given as files: the same fused rows
    files = tmp_path / "files"
    result = runner.invoke(app, ["embed", *common[:2], *common[6:], "--out", str(files),
                                 "--videos", str(align_set.data / "videos"), "--texts",
                                 str(align_set.captions), *graphs])  # fmt: skip
    assert result.exit_code == 0, result.output
    row_in_files = {row["id"]: i for i, row in enumerate(_ids(files / "video_ids.jsonl"))}
    rows = [row_in_files[video_id] for video_id in row_of]
    assert torch.allclose(_load(files / "video_embeddings.pt")[rows], videos, atol=1e-6)
    text_in_files = {row["id"]: i for i, row in enumerate(_ids(files / "text_ids.jsonl"))}
    rows = [text_in_files[row["id"]] for row in _ids(fused / "text_ids.jsonl")]
    assert torch.allclose(_load(files / "text_embeddings.pt")[rows], texts, atol=1e-6)
