"""FlagEmbedding (BAAI) training data: validation, and grade weights folded into the data.

    python flag_embedding.py validate FILE.jsonl [--knowledge-distillation] [--train-group-size 8]
    python flag_embedding.py repeat-by-weight IN.jsonl OUT.jsonl [--max-repeat 3] [--seed 0]

FlagEmbedding is not needed to run this file (it is not installable everywhere); what follows is what its
fine-tuning code does, read from FlagEmbedding/abc/finetune/embedder/AbsDataset.py and AbsModeling.py.

The data: one JSON object per line, {"query": str, "pos": [str, ...], "neg": [str, ...], "pos_scores":
[float, ...], "neg_scores": [float, ...], "prompt": str, "type": str}; pos_scores / neg_scores / prompt / type
are optional. The loader (AbsEmbedderTrainDataset) reads the file with `datasets.load_dataset("json")`, so every
row gets every column (a row without a key gets None). For each row it draws one positive from `pos` and
`train_group_size - 1` negatives from `neg`, with replacement when `neg` is shorter than that; an empty `neg`
divides by zero there, so `neg` must not be empty (unless train_group_size is 1). With a `prompt` column and a
query instruction configured, `prompt` replaces the instruction for that row (a row without it would get "None").

pos_scores / neg_scores: without `--knowledge_distillation True` the loader drops both columns; they change
nothing. With it, the scores of the drawn positive and negatives become teacher targets:
softmax([pos_score, neg_score_1, ...]) over the row's group (raw scores, no temperature), and the loss adds a
distillation term (kd_loss_type "kl_div": cross-entropy of the student's group scores against those targets,
plus the usual contrastive loss; "m3_kd_loss": each candidate's contrastive loss weighted by its target
probability). That is a target distribution over the row's candidates, NOT a per-row grade weight: ssra's
export (pos_scores = [w], neg_scores = zeros) would ask the model, for w = 1 and 7 negatives, to put only
e / (e + 7) = 0.28 of the probability on the positive. So do not turn knowledge distillation on for that file.

The honest ways to train with grade weights, L = (1/B) sum_i w_i InfoNCE_i: train_embedding.py (LoRA, torchrun)
or train_sentence_transformers.py (with weighted_loss.py) beside this file; or FlagEmbedding without
distillation on data where each row is repeated in proportion to its weight (`repeat-by-weight`: a row of
weight w appears round(w / max_w * max_repeat) times, at least once when w > 0, never when w = 0; the weight is
pos_scores[0], 1 when absent; rows shuffled with a seed) — an approximation in whole steps.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
from collections import Counter

OPTIONAL = ("pos_scores", "neg_scores", "prompt", "type")
KNOWN = ("query", "pos", "neg", *OPTIONAL)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text_list(row: dict, field: str, problem) -> list | None:
    value = row.get(field)
    if not isinstance(value, list):
        problem(field, f"expected a list of strings, got {type(value).__name__}")
        return None
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            problem(f"{field}[{i}]", "expected a non-empty string")
    return value


def validate_rows(path: str, knowledge_distillation: bool = False, train_group_size: int = 8, limit: int = 20) -> dict:
    """Checks a FlagEmbedding training file. Returns {"rows", "problems": ["file:line: field: message", ...],
    "warnings": [...], "counts": {...}}; at most `limit` problems are collected."""
    problems: list[str] = []
    warnings: list[str] = []
    rows = 0
    pos_total = neg_total = 0
    neg_counts: list[int] = []
    present: Counter = Counter()
    types: Counter = Counter()
    extra: Counter = Counter()
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if len(problems) >= limit:
                break
            if not line.strip():
                continue

            def problem(field: str, message: str, line_no: int = line_no) -> None:
                if len(problems) < limit:
                    problems.append(f"{path}:{line_no}: {field}: {message}")

            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                problem("(line)", f"not JSON: {error.msg}")
                continue
            if not isinstance(row, dict):
                problem("(line)", "expected a JSON object")
                continue
            rows += 1
            if not isinstance(row.get("query"), str) or not row.get("query", "").strip():
                problem("query", "expected a non-empty string")
            pos = _text_list(row, "pos", problem)
            neg = _text_list(row, "neg", problem)
            if pos is not None:
                pos_total += len(pos)
                if not pos:
                    problem("pos", "empty: FlagEmbedding draws one positive per row")
            if neg is not None:
                neg_total += len(neg)
                neg_counts.append(len(neg))
                if not neg and train_group_size > 1:
                    problem("neg", "empty: FlagEmbedding draws train_group_size - 1 negatives from it")
            for field, texts in (("pos_scores", pos), ("neg_scores", neg)):
                if field not in row:
                    if knowledge_distillation:
                        problem(field, "missing: knowledge distillation reads it")
                    continue
                present[field] += 1
                scores = row[field]
                if not isinstance(scores, list) or not all(_is_number(s) for s in scores):
                    problem(field, "expected a list of finite numbers")
                elif texts is not None and len(scores) != len(texts):
                    problem(field, f"{len(scores)} scores for {len(texts)} {field.split('_')[0]} texts")
            for field in ("prompt", "type"):
                if field in row:
                    present[field] += 1
                    if not isinstance(row[field], str):
                        problem(field, "expected a string")
            if isinstance(row.get("type"), str):
                types[row["type"]] += 1
            for key in row:
                if key not in KNOWN:
                    extra[key] += 1
    if not problems and rows == 0:
        problems.append(f"{path}: no rows")
    for field in OPTIONAL:
        if 0 < present[field] < rows and len(problems) < limit:
            message = (
                f"{path}: {field}: present in {present[field]} of {rows} rows; FlagEmbedding's loader gives the "
                "others None"
            )
            if field == "prompt" or (knowledge_distillation and field.endswith("_scores")):
                problems.append(message + (" (formatted as the instruction 'None')" if field == "prompt" else ""))
            else:
                warnings.append(message)
    if extra:
        warnings.append(f"{path}: keys FlagEmbedding does not read: {dict(extra)}")
    counts = {
        "rows": rows,
        "pos": pos_total,
        "neg": neg_total,
        "neg_per_row": {"min": min(neg_counts), "max": max(neg_counts)} if neg_counts else None,
        "rows_with": {field: present[field] for field in OPTIONAL},
        "types": dict(types),
        "rows_resampling_negatives": sum(1 for n in neg_counts if 0 < n < train_group_size - 1),
    }
    return {"rows": rows, "problems": problems, "warnings": warnings, "counts": counts}


def row_weight(row: dict) -> float:
    scores = row.get("pos_scores")
    if isinstance(scores, list) and scores and _is_number(scores[0]):
        return float(scores[0])
    return 1.0


def repeats_for(weight: float, max_weight: float, max_repeat: int) -> int:
    """round(w / max_w * max_repeat), halves rounded up; at least 1 when w > 0; 0 when w <= 0."""
    if weight <= 0 or max_weight <= 0:
        return 0
    return max(1, math.floor(weight / max_weight * max_repeat + 0.5))


def repeat_by_weight(src: str, dst: str, max_repeat: int = 3, seed: int = 0) -> dict:
    if max_repeat < 1:
        raise SystemExit("--max-repeat must be >= 1")
    report = validate_rows(src)
    if report["problems"]:
        raise SystemExit("\n".join(report["problems"]))
    with open(src, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    weights = [row_weight(r) for r in rows]
    max_weight = max(weights)
    out: list[dict] = []
    histogram: Counter = Counter()
    for row, weight in zip(rows, weights, strict=True):
        n = repeats_for(weight, max_weight, max_repeat)
        histogram[n] += 1
        out.extend([row] * n)
    random.Random(seed).shuffle(out)
    directory = os.path.dirname(os.path.abspath(dst))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(dst)}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for row in out:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return {
        "in": src,
        "out": dst,
        "rows_in": len(rows),
        "rows_out": len(out),
        "max_weight": max_weight,
        "max_repeat": max_repeat,
        "repeats": {str(k): histogram[k] for k in sorted(histogram)},
        "dropped_zero_weight": histogram[0],
        "seed": seed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="FlagEmbedding training data: validate; repeat rows by weight.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("validate", help="check rows against FlagEmbedding's schema and loader")
    check.add_argument("file")
    check.add_argument("--knowledge-distillation", action="store_true", help="pos_scores/neg_scores required")
    check.add_argument("--train-group-size", type=int, default=8)
    check.add_argument("--limit", type=int, default=20, help="problems to list")
    rep = sub.add_parser("repeat-by-weight", help="repeat each row round(w / max_w * max_repeat) times")
    rep.add_argument("src")
    rep.add_argument("dst")
    rep.add_argument("--max-repeat", type=int, default=3)
    rep.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.command == "validate":
        report = validate_rows(args.file, args.knowledge_distillation, args.train_group_size, args.limit)
        for warning in report["warnings"]:
            print(f"warning: {warning}", file=sys.stderr)
        for problem in report["problems"]:
            print(problem, file=sys.stderr)
        print(json.dumps({"file": args.file, "ok": not report["problems"], **report["counts"]}, ensure_ascii=False))
        return 1 if report["problems"] else 0
    print(json.dumps(repeat_by_weight(args.src, args.dst, args.max_repeat, args.seed), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
