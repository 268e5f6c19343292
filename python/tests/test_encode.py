from __future__ import annotations

import collections
import json
import math

import pytest
from conftest import DATA, KITS, read_jsonl, run_kit, write_jsonl


@pytest.fixture(scope="session")
def test_sets(work):
    retrieval = read_jsonl(DATA / "retrieval_test.jsonl", limit=150)
    pairs = read_jsonl(DATA / "pair_test.jsonl", limit=80)
    return {
        "retrieval": (write_jsonl(work / "retrieval_test.jsonl", retrieval), retrieval),
        "pairs": (write_jsonl(work / "pair_test.jsonl", pairs), pairs),
    }


def parse_run(path):
    runs = collections.defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split(" ")
        assert len(fields) == 6, line
        qid, q0, did, rank, score, tag = fields
        assert q0 == "Q0" and tag == "ssra-encode"
        assert float(score) == float(repr(float(score)))
        runs[qid].append((int(rank), did, float(score)))
    return runs


def test_encode_with_adapter_writes_run_and_pairs(trained_embedding, test_sets, work):
    out = work / "encoded"
    retrieval_file, retrieval = test_sets["retrieval"]
    pairs_file, pairs = test_sets["pairs"]
    proc = run_kit(
        [
            KITS / "encode.py",
            "--adapter",
            trained_embedding["out"],
            "--retrieval-test",
            retrieval_file,
            "--pair-test",
            pairs_file,
            "--out",
            out,
            "--batch-size",
            "16",
        ],
        cwd=work,
    )
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["dim"] == 64 and summary["pooling"] == "last"

    runs = parse_run(out / "run.trec")
    expected = collections.defaultdict(set)
    for row in retrieval:
        expected[row["qid"]].add(row["did"])
    assert set(runs) == set(expected)
    for qid, ranked in runs.items():
        assert [r for r, _, _ in ranked] == list(range(1, len(ranked) + 1))
        assert {d for _, d, _ in ranked} == expected[qid]
        scores = [s for _, _, s in ranked]
        assert scores == sorted(scores, reverse=True)
        assert all(-1.0001 <= s <= 1.0001 for s in scores)

    lines = read_jsonl(out / "pairs.jsonl")
    assert len(lines) == len(pairs)
    for line, row in zip(lines, pairs, strict=True):
        assert set(line) == {"qid", "did", "label", "score"}
        assert (line["qid"], line["did"], line["label"]) == (row["qid"], row["did"], row["label"])
        assert math.isfinite(line["score"]) and -1.0001 <= line["score"] <= 1.0001
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_encode_matryoshka_dim_changes_scores(trained_embedding, tiny, test_sets, work):
    pairs_file, pairs = test_sets["pairs"]
    full = read_jsonl(work / "encoded" / "pairs.jsonl")
    out = work / "encoded16"
    run_kit(
        [
            KITS / "encode.py",
            "--model",
            tiny["dirs"]["embedding"],
            "--adapter",
            trained_embedding["out"],
            "--pair-test",
            pairs_file,
            "--out",
            out,
            "--dim",
            "16",
        ],
        cwd=work,
    )
    small = read_jsonl(out / "pairs.jsonl")
    assert len(small) == len(pairs) and not (out / "run.trec").exists()
    assert [a["score"] for a in small] != [b["score"] for b in full]


def test_encode_serve_answers_openai_embeddings_equal_to_the_file_scores(trained_embedding, test_sets, work):
    """`encode.py serve`: the OpenAI-compatible endpoint an eval suite scores; same vectors as the file path."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            str(KITS / "encode.py"),
            "serve",
            "--adapter",
            str(trained_embedding["out"]),
            "--port",
            str(port),
        ],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def call(path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(base + path, data=data, headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    try:
        for _ in range(240):
            try:
                if call("/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.25)
        else:
            raise AssertionError(proc.stdout.read() if proc.stdout else "no output")
        status, models = call("/v1/models")
        assert status == 200 and len(models["data"]) == 1
        _, pairs = test_sets["pairs"]
        row = pairs[0]
        config = json.loads((trained_embedding["out"] / "train_config.json").read_text(encoding="utf-8"))
        query = config["query_instruction"] + row["query"]
        status, body = call("/v1/embeddings", {"model": models["data"][0]["id"], "input": [query, row["doc"]]})
        assert status == 200 and [d["index"] for d in body["data"]] == [0, 1]
        q, d = (item["embedding"] for item in body["data"])
        assert abs(sum(x * x for x in q) - 1) < 1e-4
        cosine = sum(a * b for a, b in zip(q, d, strict=True))
        one = write_jsonl(work / "serve-one.jsonl", [row])
        run_kit(
            [
                KITS / "encode.py",
                "--adapter",
                trained_embedding["out"],
                "--pair-test",
                one,
                "--out",
                work / "serve-one",
            ],
            work,
        )
        from_file = read_jsonl(work / "serve-one" / "pairs.jsonl")[0]["score"]
        assert abs(cosine - from_file) < 1e-4
        status, short = call("/v1/embeddings", {"input": row["doc"], "dimensions": 16})
        assert status == 200 and len(short["data"][0]["embedding"]) == 16
        status, problem = call("/v1/embeddings", {"input": []})
        assert status == 400 and "input" in problem["error"]["message"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
