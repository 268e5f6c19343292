"""Embeds a test set with a (fine-tuned) embedding model, for the project's exact evaluators.

    python encode.py --model BASE_DIR_OR_ID [--adapter ADAPTER_DIR] [--config config.json] \
        [--retrieval-test retrieval_test.jsonl] [--pair-test pair_test.jsonl] --out DIR \
        [--dim D] [--batch-size 64] [--dtype float32|bfloat16|float16] [--device auto|cpu|cuda]

Test rows: JSONL {"qid", "did", "query", "doc", "label"} (label 0..3). Writes, each atomically (temp + rename):

- DIR/run.trec (from --retrieval-test): TREC run lines `qid Q0 did rank score ssra-encode`, each query's own
  candidates sorted by cosine, descending; scores printed at full (repr) precision. Score it with
  `node apps/eval-runner/dist/bin.js trec --qrels data/<set>/retrieval_qrels.trec --run DIR/run.trec -m ndcg@10 --json`.
- DIR/pairs.jsonl (from --pair-test): one {"qid", "did", "label", "score"} per row, in input order, score = cosine.
  Score it with `node apps/eval-runner/dist/bin.js pairs --input DIR/pairs.jsonl --json`.

--adapter: a LoRA adapter written by train_embedding.py, merged into the base in memory (--model defaults to
the adapter's base_model_name_or_path). --config (default: the adapter's train_config.json when there is one):
query_instruction (prefixed to queries only), max_query_length, max_document_length, and "pooling" ("last",
the default, as Qwen3-Embedding; or "mean"). --dim D keeps the first D dimensions (Matryoshka) before
normalizing; default: all.

Serving instead of files (what vLLM's embedding server does on a GPU, for eval suites and ssra-server):

    python encode.py serve --model BASE [--adapter DIR] [--config config.json] [--host 127.0.0.1] [--port 8000]
        [--served-model-name NAME] [--dim D]

answers OpenAI-compatible POST /v1/embeddings ({"input": str | [str], "model", "dimensions"}: unit vectors of
the texts as sent — the client adds the query instruction, as ssra's RemoteEmbedder does with
`queryInstruction`; a text that starts with the config's query_instruction is cut at max_query_length, any
other at max_document_length, as in training), GET /v1/models and GET /health. Needs fastapi and uvicorn as well.

Needs: torch, transformers (and peft with --adapter).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import torch
import torch.nn.functional as F

DEFAULT_INSTRUCTION = "Instruct: Given a search query, retrieve relevant passages that answer the query\nQuery:"


def log(message: str) -> None:
    print(f"[encode] {message}", file=sys.stderr, flush=True)


def read_rows(path: str) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            for key in ("qid", "did", "query", "doc"):
                if not isinstance(row.get(key), str):
                    raise SystemExit(f"{path}:{line_no}: {key}: expected a string")
            rows.append(row)
    return rows


def write_atomic(path: str, lines) -> int:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(line + "\n")
                count += 1
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return count


def pool(hidden: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    if how == "mean":
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)
    if bool((mask[:, -1] == 1).all()):  # left padding: the last position is every row's last token
        return hidden[:, -1]
    lengths = mask.sum(dim=1) - 1
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), lengths]


class Encoder:
    def __init__(self, model, tokenizer, device, pooling: str, dim: int | None, batch_size: int):
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.pooling, self.dim, self.batch_size = pooling, dim, batch_size

    @torch.no_grad()
    def __call__(self, texts: list[str], max_length: int) -> torch.Tensor:
        """Unit vectors (float32, CPU), one per text."""
        out = []
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths share a batch
        for start in range(0, len(order), self.batch_size):
            chunk = [texts[i] for i in order[start : start + self.batch_size]]
            batch = self.tokenizer(chunk, padding=True, truncation=True, max_length=max_length, return_tensors="pt").to(
                self.device
            )
            hidden = self.model(**batch).last_hidden_state
            emb = pool(hidden, batch["attention_mask"], self.pooling).float()
            if self.dim is not None:
                emb = emb[:, : self.dim]
            out.append(F.normalize(emb, dim=-1).cpu())
        if not out:
            return torch.zeros(0, 0)
        stacked = torch.cat(out, dim=0)
        result = torch.empty_like(stacked)
        result[torch.tensor(order)] = stacked
        return result


def cosines(encoder: Encoder, rows: list[dict], config: dict) -> list[float]:
    instruction = config.get("query_instruction", DEFAULT_INSTRUCTION)
    queries = sorted({r["query"] for r in rows})
    docs = sorted({r["doc"] for r in rows})
    q_index = {q: i for i, q in enumerate(queries)}
    d_index = {d: i for i, d in enumerate(docs)}
    q = encoder([instruction + text for text in queries], int(config.get("max_query_length", 64)))
    d = encoder(docs, int(config.get("max_document_length", 256)))
    qi = torch.tensor([q_index[r["query"]] for r in rows])
    di = torch.tensor([d_index[r["doc"]] for r in rows])
    return (q[qi] * d[di]).sum(dim=-1).tolist()


def trec_lines(rows: list[dict], scores: list[float], tag: str = "ssra-encode"):
    by_query: dict[str, list[tuple[float, str]]] = {}
    seen = set()
    for row, score in zip(rows, scores, strict=True):
        key = (row["qid"], row["did"])
        if key in seen:
            continue
        seen.add(key)
        by_query.setdefault(row["qid"], []).append((score, row["did"]))
    for qid in sorted(by_query):
        ranked = sorted(by_query[qid], key=lambda item: (-item[0], item[1]))
        for rank, (score, did) in enumerate(ranked, 1):
            yield f"{qid} Q0 {did} {rank} {score!r} {tag}"


def load(args):
    from transformers import AutoModel, AutoTokenizer

    config: dict = {}
    config_path = args.config
    if config_path is None and args.adapter and os.path.exists(os.path.join(args.adapter, "train_config.json")):
        config_path = os.path.join(args.adapter, "train_config.json")
    if config_path:
        with open(config_path, encoding="utf-8") as handle:
            config = json.load(handle)
    model_id = args.model
    if model_id is None and args.adapter:
        with open(os.path.join(args.adapter, "adapter_config.json"), encoding="utf-8") as handle:
            model_id = json.load(handle)["base_model_name_or_path"]
    if model_id is None:
        raise SystemExit("--model is required (or --adapter with an adapter_config.json)")
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[args.dtype]
    tokenizer_dir = model_id
    if args.adapter and os.path.exists(os.path.join(args.adapter, "tokenizer_config.json")):
        tokenizer_dir = args.adapter
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, padding_side="left")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModel.from_pretrained(model_id, dtype=dtype)
    if args.adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, args.adapter).merge_and_unload()
    model.to(device).eval()
    return model, tokenizer, device, config, model_id


def serve(argv: list[str]) -> int:
    """An OpenAI-compatible embeddings endpoint over the (adapted) model."""
    parser = argparse.ArgumentParser(prog="encode.py serve", description="Serve /v1/embeddings over the model.")
    parser.add_argument("--model", help="base model dir or hub id")
    parser.add_argument("--adapter", help="LoRA adapter dir from train_embedding.py (merged in memory)")
    parser.add_argument("--config", help="config.json with max lengths / pooling")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--served-model-name", default=None, help="the id /v1/models lists (default: the model)")
    parser.add_argument("--dim", type=int, default=None, help="Matryoshka: default dimensions (default all)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)

    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    model, tokenizer, device, config, model_id = load(args)
    hidden = int(model.config.hidden_size)
    name = args.served_model_name or model_id
    pooling = config.get("pooling", "last")
    instruction = config.get("query_instruction", DEFAULT_INSTRUCTION)
    query_length = int(config.get("max_query_length", 64))
    document_length = int(config.get("max_document_length", 256))
    encoder = Encoder(model, tokenizer, device, pooling, None, args.batch_size)
    app = FastAPI()

    def problem(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status_code=status)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/v1/models")
    def models() -> dict:
        return {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "ssra"}]}

    @app.post("/v1/embeddings")
    def embeddings(body: dict):
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return problem(400, "input must be a non-empty string or a list of strings")
        dim = body.get("dimensions", args.dim)
        if dim is not None and not (isinstance(dim, int) and 1 <= dim <= hidden):
            return problem(400, f"dimensions must be an integer in 1..{hidden}")
        # a text that starts with the query instruction is a query (the client adds it): the trainer's query length
        is_query = [bool(instruction) and t.startswith(instruction) for t in texts]
        vectors = torch.zeros(len(texts), hidden)
        tokens = 0
        for flag, length in ((True, query_length), (False, document_length)):
            index = [i for i, q in enumerate(is_query) if q == flag]
            if index:
                chosen = [texts[i] for i in index]
                vectors[torch.tensor(index)] = encoder(chosen, length)
                tokens += sum(len(ids) for ids in tokenizer(chosen, truncation=True, max_length=length)["input_ids"])
        if dim is not None:
            vectors = F.normalize(vectors[:, :dim], dim=-1)
        return {
            "object": "list",
            "model": name,
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors.tolist())],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    log(f"serving {name} ({pooling} pooling, {hidden} dims) on http://{args.host}:{args.port}/v1")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        return serve(argv[1:])
    parser = argparse.ArgumentParser(description="Embed a test set; write run.trec / pairs.jsonl.")
    parser.add_argument("--model", help="base model dir or hub id")
    parser.add_argument("--adapter", help="LoRA adapter dir from train_embedding.py (merged in memory)")
    parser.add_argument("--config", help="config.json with query_instruction / max lengths / pooling")
    parser.add_argument("--retrieval-test", help="JSONL qid, did, query, doc, label -> DIR/run.trec")
    parser.add_argument("--pair-test", help="JSONL qid, did, query, doc, label -> DIR/pairs.jsonl")
    parser.add_argument("--out", required=True)
    parser.add_argument("--dim", type=int, default=None, help="Matryoshka: keep the first D dims (default all)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    if not args.retrieval_test and not args.pair_test:
        parser.error("give --retrieval-test and/or --pair-test")

    model, tokenizer, device, config, model_id = load(args)
    hidden = int(model.config.hidden_size)
    if args.dim is not None and not 1 <= args.dim <= hidden:
        raise SystemExit(f"--dim {args.dim} outside 1..{hidden} (the model's hidden size)")
    pooling = config.get("pooling", "last")
    if pooling not in ("last", "mean"):
        raise SystemExit(f"pooling must be 'last' or 'mean', got {pooling!r}")
    encoder = Encoder(model, tokenizer, device, pooling, args.dim, args.batch_size)
    summary: dict = {"model": model_id, "adapter": args.adapter, "dim": args.dim or hidden, "pooling": pooling}
    if args.retrieval_test:
        rows = read_rows(args.retrieval_test)
        path = os.path.join(args.out, "run.trec")
        lines = write_atomic(path, trec_lines(rows, cosines(encoder, rows, config)))
        summary["run"] = {"file": path, "lines": lines, "queries": len({r["qid"] for r in rows})}
        log(f"{path}: {lines} lines")
    if args.pair_test:
        rows = read_rows(args.pair_test)
        scores = cosines(encoder, rows, config)
        path = os.path.join(args.out, "pairs.jsonl")
        lines = write_atomic(
            path,
            (
                json.dumps({"qid": r["qid"], "did": r["did"], "label": r.get("label"), "score": s}, ensure_ascii=False)
                for r, s in zip(rows, scores, strict=True)
            ),
        )
        summary["pairs"] = {"file": path, "lines": lines}
        log(f"{path}: {lines} lines")
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
