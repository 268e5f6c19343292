"""Trains a SentenceTransformer with the grade-weighted InfoNCE (SSRA) loss on ssra's sentence-transformers export.

    python train_sentence_transformers.py --model MODEL_DIR_OR_ID --train-file train.jsonl --output-dir OUT \
        [--max-steps N] [--epochs 1] [--batch-size 32] [--learning-rate 2e-5] [--seed 42] \
        [--pooling lasttoken|mean] [--max-seq-length 256] [--scale 20] [--query-instruction TEXT] \
        [--fixed-batches 2]
    (also under torchrun / accelerate launch: data parallel, the loss gathers in-batch negatives across processes)

The model: a transformers model directory (or hub id) wrapped as Transformer -> Pooling (last token, as
Qwen3-Embedding, or mean) -> Normalize. Rows: JSONL {"anchor", "positive", "negative_1".."negative_k", "score"};
`score` is the row's weight w_i in L = (1/B) sum_i w_i InfoNCE_i (GradeWeightedMultipleNegativesRankingLoss in
weighted_loss.py beside this file; cosine similarity x scale, i.e. temperature 1/scale). Every row keeps the same
number of negatives (the fewest any row has; sentence-transformers needs one column set). The query instruction
is the prompt of the `anchor` column and is saved as the model's "query" prompt.

Output (written to a sibling ".<name>.partial-*" directory, renamed into place at the end): the
SentenceTransformer (loadable with SentenceTransformer(OUT); its transformer weights and tokenizer at the top
level, so AutoModel.from_pretrained(OUT) and encode.py --model OUT --config OUT/train_config.json work too),
train_config.json, train_log.jsonl (the trainer's logged losses) and metrics.json:
{"fixed_batch_loss_before", "fixed_batch_loss_after", "steps", "world_size", "device", ...}: the loss (no grad,
eval mode) on the first K batches of the file in its order, batched and tokenized as the trainer does.

Needs: torch, transformers, sentence-transformers 6, datasets.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

DEFAULT_INSTRUCTION = "Instruct: Given a search query, retrieve relevant passages that answer the query\nQuery:"


def log(message: str) -> None:
    if os.environ.get("RANK", "0") == "0":
        print(f"[train_sentence_transformers] {message}", file=sys.stderr, flush=True)


def read_rows(path: str) -> tuple[dict[str, list], int]:
    """Column-wise rows with the same k negatives each; returns (columns, k)."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{line_no}"
            row = json.loads(line)
            for key in ("anchor", "positive"):
                if not isinstance(row.get(key), str) or not row[key].strip():
                    raise SystemExit(f"{where}: {key}: expected a non-empty string")
            keys = sorted(
                (k for k in row if k.startswith("negative_") and k[len("negative_") :].isdigit()),
                key=lambda k: int(k[len("negative_") :]),
            )
            negatives = [row[k] for k in keys if isinstance(row[k], str) and row[k].strip()]
            score = row.get("score", 1.0)
            if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score) or score < 0:
                raise SystemExit(f"{where}: score: expected a finite number >= 0, got {score!r}")
            rows.append((row["anchor"], row["positive"], negatives, float(score)))
    if not rows:
        raise SystemExit(f"{path}: no rows")
    k = min(len(negs) for _, _, negs, _ in rows)
    if any(len(negs) > k for _, _, negs, _ in rows):
        log(f"rows have between {k} and {max(len(n) for _, _, n, _ in rows)} negatives: using {k} per row")
    columns: dict[str, list] = {"anchor": [r[0] for r in rows], "positive": [r[1] for r in rows]}
    for i in range(k):
        columns[f"negative_{i + 1}"] = [r[2][i] for r in rows]
    columns["score"] = [r[3] for r in rows]
    return columns, k


def build_model(model_id: str, pooling: str, max_seq_length: int):
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Normalize, Pooling, Transformer

    transformer = Transformer(model_id, max_seq_length=max_seq_length)
    tokenizer = getattr(transformer, "tokenizer", None) or getattr(transformer, "processor", None)
    if tokenizer is not None and getattr(tokenizer, "pad_token", "x") is None:
        tokenizer.pad_token = tokenizer.eos_token
    dim = transformer.get_embedding_dimension() if hasattr(transformer, "get_embedding_dimension") else None
    if dim is None:
        dim = transformer.get_word_embedding_dimension()
    return SentenceTransformer(modules=[transformer, Pooling(dim, pooling_mode=pooling), Normalize()])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SentenceTransformer + grade-weighted InfoNCE.")
    parser.add_argument("--model", required=True, help="transformers model dir or hub id")
    parser.add_argument("--train-file", required=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--max-steps", type=int, default=-1, help="-1: run --epochs")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=32, help="per process")
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--warmup-ratio", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--pooling", choices=["lasttoken", "mean"], default="lasttoken")
    parser.add_argument("--max-seq-length", type=int, default=256)
    parser.add_argument("--scale", type=float, default=20.0, help="cosine scale = 1 / temperature")
    parser.add_argument("--query-instruction", default=DEFAULT_INSTRUCTION)
    parser.add_argument("--fixed-batches", type=int, default=2)
    parser.add_argument("--logging-steps", type=int, default=1)
    args = parser.parse_args(argv)

    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

    try:
        from sentence_transformers.sentence_transformer.training_args import BatchSamplers
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.training_args import BatchSamplers
    from transformers import set_seed

    from weighted_loss import GradeWeightedMultipleNegativesRankingLoss

    set_seed(args.seed)
    columns, k = read_rows(args.train_file)
    dataset = Dataset.from_dict(columns)
    model = build_model(args.model, args.pooling, args.max_seq_length)
    if args.query_instruction:
        model.prompts = {**(model.prompts or {}), "query": args.query_instruction}
    loss = GradeWeightedMultipleNegativesRankingLoss(model, scale=args.scale, gather_across_devices=True)
    use_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()

    target = os.path.abspath(args.output_dir)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.trainer-", dir=os.path.dirname(target))
    cleanup = [scratch]  # every process's own scratch directory; a failed run's partial output
    try:
        training_args = SentenceTransformerTrainingArguments(
            output_dir=scratch,
            max_steps=args.max_steps,
            num_train_epochs=args.epochs,
            per_device_train_batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            warmup_steps=args.warmup_ratio if 0 < args.warmup_ratio < 1 else 0,  # transformers 5: float = ratio
            seed=args.seed,
            data_seed=args.seed,
            logging_steps=args.logging_steps,
            save_strategy="no",
            report_to="none",
            bf16=use_bf16,
            batch_sampler=BatchSamplers.NO_DUPLICATES,
            prompts={"anchor": args.query_instruction} if args.query_instruction else None,
            # gloo on CPU when launched by torchrun / accelerate (NCCL needs CUDA); none for a single process
            ddp_backend="gloo"
            if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()
            else None,
            dataloader_drop_last=True,
            disable_tqdm=True,
            dataloader_pin_memory=torch.cuda.is_available(),
        )
        trainer = SentenceTransformerTrainer(model=model, args=training_args, train_dataset=dataset, loss=loss)
        fixed = min(max(args.fixed_batches, 0), len(dataset) // args.batch_size)

        def fixed_batch_loss() -> float | None:
            if fixed == 0:
                return None
            was_training = model.training
            model.eval()
            total = 0.0
            with torch.no_grad():
                for j in range(fixed):
                    features = [dataset[i] for i in range(j * args.batch_size, (j + 1) * args.batch_size)]
                    batch = trainer._prepare_inputs(trainer.data_collator(features))
                    total += float(trainer.compute_loss(model, batch))
            model.train(was_training)
            return total / fixed

        # the fixed-batch loss runs in this process only: with several processes the loss's all_gather would wait
        # for the others
        world = int(os.environ.get("WORLD_SIZE", "1"))
        saved_gather = loss.gather_across_devices
        loss.gather_across_devices = False
        before = fixed_batch_loss() if trainer.is_world_process_zero() else None
        loss.gather_across_devices = saved_gather and world > 1
        result = trainer.train()
        loss.gather_across_devices = False
        after = fixed_batch_loss() if trainer.is_world_process_zero() else None

        if trainer.is_world_process_zero():
            staging = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.partial-", dir=os.path.dirname(target))
            cleanup.append(staging)
            model.save(staging)
            with open(os.path.join(staging, "train_config.json"), "w", encoding="utf-8") as handle:
                json.dump(
                    {
                        "model": args.model,
                        "train_file": args.train_file,
                        "query_instruction": args.query_instruction,
                        "pooling": "last" if args.pooling == "lasttoken" else "mean",
                        "max_query_length": args.max_seq_length,
                        "max_document_length": args.max_seq_length,
                        "scale": args.scale,
                        "negatives_per_row": k,
                        "batch_size": args.batch_size,
                        "learning_rate": args.learning_rate,
                        "seed": args.seed,
                    },
                    handle,
                    indent=2,
                    ensure_ascii=False,
                )
                handle.write("\n")
            with open(os.path.join(staging, "train_log.jsonl"), "w", encoding="utf-8") as handle:
                for entry in trainer.state.log_history:
                    if "loss" in entry:
                        handle.write(json.dumps(entry) + "\n")
            metrics = {
                "fixed_batch_loss_before": before,
                "fixed_batch_loss_after": after,
                "fixed_batches": fixed,
                "steps": trainer.state.global_step,
                "world_size": world,
                "device": str(trainer.args.device),
                "train_loss": result.training_loss,
                "rows": len(dataset),
                "negatives_per_row": k,
            }
            with open(os.path.join(staging, "metrics.json"), "w", encoding="utf-8") as handle:
                json.dump(metrics, handle, indent=2)
                handle.write("\n")
            old = None
            if os.path.exists(target):
                old = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.old-", dir=os.path.dirname(target))
                os.rmdir(old)
                os.replace(target, old)
            os.replace(staging, target)
            if old:
                shutil.rmtree(old, ignore_errors=True)
            print(json.dumps(metrics), flush=True)
    finally:
        for path in cleanup:
            shutil.rmtree(path, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
