from __future__ import annotations

import json
import math

from conftest import DATA, KITS, read_jsonl, run_kit, write_jsonl


def test_trains_with_weighted_loss_and_loss_falls(work, tiny, embedding_train_file, tmp_path):
    # every row with >= 1 negative: sentence-transformers needs one column set (the script keeps the fewest)
    rows = [r for r in read_jsonl(embedding_train_file) if "negative_1" in r]
    train = write_jsonl(tmp_path / "st_train.jsonl", rows)
    out = work / "st-out"
    proc = run_kit(
        [KITS / "train_sentence_transformers.py", "--model", tiny["dirs"]["embedding"], "--train-file", train]
        + ["--output-dir", out, "--max-steps", "20", "--batch-size", "8", "--learning-rate", "3e-3"]
        + ["--max-seq-length", "48", "--seed", "0"],
        cwd=work,
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 20 and metrics["world_size"] == 1 and metrics["negatives_per_row"] == 1
    before, after = metrics["fixed_batch_loss_before"], metrics["fixed_batch_loss_after"]
    assert math.isfinite(before) and math.isfinite(after) and after < before
    assert "using 1 per row" in proc.stderr
    assert len([line for line in read_jsonl(out / "train_log.jsonl") if "loss" in line]) == 20
    assert not list(work.glob(f".{out.name}.*"))  # the trainer's scratch and the partial output are gone

    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(out), device="cpu")
    emb = model.encode(["感冒吃什么", "发烧怎么办"], normalize_embeddings=True)
    assert emb.shape == (2, 64)
    assert model.prompts.get("query", "").startswith("Instruct:")

    # the saved model is a plain transformers directory too: encode.py scores with it
    pairs = write_jsonl(tmp_path / "pairs.jsonl", read_jsonl(DATA / "pair_test.jsonl", limit=20))
    run_kit(
        [KITS / "encode.py", "--model", out, "--config", out / "train_config.json", "--pair-test", pairs]
        + ["--out", tmp_path / "enc"],
        cwd=work,
    )
    assert len(read_jsonl(tmp_path / "enc" / "pairs.jsonl")) == 20
