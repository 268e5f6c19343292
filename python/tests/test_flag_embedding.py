from __future__ import annotations

import collections
import json
import subprocess
import sys

from conftest import KITS, read_jsonl, write_jsonl

import flag_embedding

GOOD = [
    {
        "query": "感冒吃什么",
        "pos": ["感冒吃什么药"],
        "neg": ["胃疼", "牙疼"],
        "pos_scores": [1.0],
        "neg_scores": [0, 0],
    },
    {"query": "发烧", "pos": ["发烧怎么办"], "neg": ["腿疼"], "pos_scores": [0.5], "neg_scores": [0.0]},
    {
        "query": "头疼",
        "pos": ["头疼怎么缓解", "头疼吃什么"],
        "neg": ["手疼"],
        "pos_scores": [0.2, 0.1],
        "neg_scores": [0],
    },
]


def cli(*args):
    return subprocess.run(
        [sys.executable, str(KITS / "flag_embedding.py"), *map(str, args)], capture_output=True, text=True, timeout=60
    )


def test_validate_accepts_good_rows(tmp_path):
    path = write_jsonl(tmp_path / "good.jsonl", GOOD)
    report = flag_embedding.validate_rows(str(path))
    assert report["problems"] == [] and report["rows"] == 3
    assert report["counts"]["pos"] == 4 and report["counts"]["neg"] == 4
    assert report["counts"]["rows_resampling_negatives"] == 3  # fewer than train_group_size - 1 = 7
    proc = cli("validate", path, "--knowledge-distillation")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ok"] is True


def test_validate_rejects_bad_rows_with_line_numbers(tmp_path):
    bad = [
        GOOD[0],
        {"query": "q", "pos": ["p"], "neg": []},
        {"query": "q", "pos": [], "neg": ["n"]},
        {"query": "", "pos": ["p"], "neg": ["n"]},
        {"query": "q", "pos": "p", "neg": ["n"]},
        {"query": "q", "pos": ["p"], "neg": ["n"], "pos_scores": [1.0, 2.0]},
        {"query": "q", "pos": ["p"], "neg": ["n"], "neg_scores": ["high"]},
        {"query": "q", "pos": ["p"], "neg": ["n", 3]},
    ]
    path = write_jsonl(tmp_path / "bad.jsonl", bad)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    problems = flag_embedding.validate_rows(str(path))["problems"]
    expected = [
        f"{path}:2: neg: empty",
        f"{path}:3: pos: empty",
        f"{path}:4: query: expected a non-empty string",
        f"{path}:5: pos: expected a list of strings",
        f"{path}:6: pos_scores: 2 scores for 1 pos texts",
        f"{path}:7: neg_scores: expected a list of finite numbers",
        f"{path}:8: neg[1]: expected a non-empty string",
        f"{path}:9: (line): not JSON",
    ]
    for prefix in expected:
        assert any(p.startswith(prefix) for p in problems), (prefix, problems)
    proc = cli("validate", path)
    assert proc.returncode == 1
    assert f"{path}:2: neg: empty" in proc.stderr and json.loads(proc.stdout)["ok"] is False


def test_validate_knowledge_distillation_needs_scores_and_prompt_in_all_rows(tmp_path):
    rows = [{"query": "q", "pos": ["p"], "neg": ["n"]}, {**GOOD[0], "prompt": "Instruct: x"}]
    path = write_jsonl(tmp_path / "kd.jsonl", rows)
    plain = flag_embedding.validate_rows(str(path))["problems"]
    assert any("prompt: present in 1 of 2 rows" in p for p in plain)
    kd = flag_embedding.validate_rows(str(path), knowledge_distillation=True)["problems"]
    assert any(p.startswith(f"{path}:1: pos_scores: missing") for p in kd)


def test_repeat_by_weight_counts(tmp_path):
    weights = [1.0, 0.5, 0.2, 0.1, 0.0, None]
    rows = []
    for i, w in enumerate(weights):
        row = {"query": f"q{i}", "pos": [f"p{i}"], "neg": [f"n{i}"]}
        if w is not None:
            row["pos_scores"], row["neg_scores"] = [w], [0.0]
        rows.append(row)
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    dst = tmp_path / "out.jsonl"
    proc = cli("repeat-by-weight", src, dst, "--max-repeat", "3", "--seed", "7")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    # w / max_w * 3 = 3, 1.5, 0.6, 0.3, 0, (no score: weight 1) 3 -> 3, 2, 1, 1 (min 1 for w > 0), 0, 3
    counts = collections.Counter(r["query"] for r in read_jsonl(dst))
    assert dict(counts) == {"q0": 3, "q1": 2, "q2": 1, "q3": 1, "q5": 3}
    assert summary["rows_out"] == 10 and summary["dropped_zero_weight"] == 1
    assert flag_embedding.validate_rows(str(dst))["problems"] == []
    again = tmp_path / "again.jsonl"
    cli("repeat-by-weight", src, again, "--max-repeat", "3", "--seed", "7")
    assert again.read_text() == dst.read_text()
    grouped = ["q0"] * 3 + ["q1"] * 2 + ["q2", "q3"] + ["q5"] * 3
    assert sorted(r["query"] for r in read_jsonl(dst)) == grouped
    assert [r["query"] for r in read_jsonl(dst)] != grouped  # shuffled
