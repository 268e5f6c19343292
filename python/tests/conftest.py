"""Shared fixtures: tiny models built once per session from the bundled texts, small training files, and a
helper that runs a kit script in a subprocess (the way a kit runs it)."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
KITS = HERE.parent / "ssra_kits"
REPO = HERE.parent.parent
DATA = REPO / "data" / "kuake_qtr"

sys.path.insert(0, str(KITS))

# tiny models on 2 cores: one thread per process keeps torchrun's two processes from fighting
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                rows.append(json.loads(line))
                if limit is not None and len(rows) >= limit:
                    break
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def run_kit(args: list[str], cwd: Path, timeout: int = 240, env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs `python <args>` (args[0] a kit script or `-m module`), fails the test with its output on error."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.run(
        [sys.executable, *[str(a) for a in args]],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"exit {proc.returncode}: {' '.join(map(str, args))}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc


def torchrun(nproc: int) -> list[str]:
    return ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]


@pytest.fixture(scope="session")
def labeled() -> list[dict]:
    return read_jsonl(DATA / "labeled.jsonl", limit=400)


@pytest.fixture(scope="session")
def work(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ssra")
    os.environ.setdefault("HF_HOME", str(path / "hf-home"))
    return path


def chat_rows(labeled: list[dict]) -> list[dict]:
    """Score-model rows ({"grade": g}) and query-model rows ({"queries": [...]}), interleaved."""
    rows = []
    for i, r in enumerate(labeled):
        if i % 2 == 0:
            rows.append(
                {
                    "messages": [
                        {"role": "system", "content": "Grade how relevant the document is to the query, 0-3."},
                        {"role": "user", "content": f"Query: {r['query']}\nDocument: {r['doc']}"},
                        {"role": "assistant", "content": json.dumps({"grade": r["label"]})},
                    ]
                }
            )
        else:
            rows.append(
                {
                    "messages": [
                        {
                            "role": "user",
                            "content": f"Document: {r['doc']}\nGrade: {r['label']}\nWrite search queries.",
                        },
                        {"role": "assistant", "content": json.dumps({"queries": [r["query"]]}, ensure_ascii=False)},
                    ]
                }
            )
    return rows


def embedding_rows(labeled: list[dict]) -> list[dict]:
    """sentence-transformers rows: positives of grade >= 1, lower-graded documents of the same query as hard
    negatives (0 to 3 of them: the trainer must cope with ragged rows), weight = grade / 3."""
    by_query: dict[str, list[dict]] = collections.defaultdict(list)
    for r in labeled:
        by_query[r["query"]].append(r)
    rows = []
    for query, group in by_query.items():
        for r in group:
            if r["label"] < 1:
                continue
            row = {"anchor": query, "positive": r["doc"]}
            negatives = [x["doc"] for x in group if x["label"] < r["label"]][:3]
            for i, n in enumerate(negatives, 1):
                row[f"negative_{i}"] = n
            row["score"] = r["label"] / 3
            rows.append(row)
    return rows


@pytest.fixture(scope="session")
def tiny(work, labeled) -> dict:
    """DIR/tokenizer, DIR/causal-lm, DIR/embedding built by tiny_models.py from the bundled texts."""
    import tiny_models

    texts_file = write_jsonl(work / "texts.jsonl", labeled[:300] + chat_rows(labeled[:40]))
    summary = tiny_models.build(tiny_models.read_texts([str(texts_file)]), str(work / "tiny"), seed=0)
    return summary


@pytest.fixture(scope="session")
def embedding_train_file(work, labeled) -> Path:
    rows = embedding_rows(labeled)[:96]
    assert any("negative_1" not in r for r in rows) or any("negative_3" not in r for r in rows)
    return write_jsonl(work / "embedding_train.jsonl", rows)


@pytest.fixture(scope="session")
def chat_file(work, labeled) -> Path:
    return write_jsonl(work / "chat.jsonl", chat_rows(labeled[:64]))


def write_config(path: Path, model: str, train_file: Path, output_dir: Path) -> Path:
    config = {
        "model": model,
        "train_file": str(train_file),
        "output_dir": str(output_dir),
        "lora": {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]},
        "learning_rate": 3e-3,
        "global_batch_size": 8,
        "nproc_per_node": 2,
        "epochs": 3,
        "warmup_ratio": 0.0,
        "matryoshka_dims": [32, 64, 128],
        "negatives_per_row": 2,
        "max_query_length": 32,
        "max_document_length": 48,
        "gradient_checkpointing": True,
        "seed": 0,
        "an_unknown_key": "is ignored",
    }
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def trained_embedding(work, tiny, embedding_train_file):
    """train_embedding.py under torchrun with 2 CPU processes (gloo), 20 steps."""
    config = write_config(work / "embedding_config.json", tiny["dirs"]["embedding"], embedding_train_file, work / "x")
    out = work / "embedding_out"
    proc = run_kit(
        [*torchrun(2), KITS / "train_embedding.py", "--config", config, "--output-dir", out, "--max-steps", "20"],
        cwd=work,
    )
    return {"out": out, "stdout": proc.stdout, "stderr": proc.stderr, "config": config}
