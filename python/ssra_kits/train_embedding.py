"""Grade-weighted InfoNCE fine-tuning of a Qwen3-Embedding model with LoRA (ssra's embedding launch kit).

Loss (SSRA, arXiv 2509.16717, footnote 4): L = (1/B) * sum_i w_i * InfoNCE_i, with w_i the "score" column of the
training file; in-batch negatives gathered across processes, the row's hard negatives, optional query-query and
document-document negatives, another row of the same query never a negative, candidates whose cosine beats the
positive's by more than a margin masked as likely false negatives, a learnable temperature, and the loss averaged
over Matryoshka prefix sizes. Last-token pooling (left padding), the query instruction prefixed to each query.

    torchrun --standalone --nproc_per_node=N train_embedding.py --config config.json \
        [--model DIR_OR_ID] [--train-file FILE] [--output-dir DIR] [--max-steps N] [--log-every N] \
        [--fixed-batches K]
    python train_embedding.py --config config.json ...          # one process, no process group

The process group uses NCCL when CUDA is available, else gloo (CPU torchrun works). bf16 only when the config
asks for it and the GPU supports it, else float32. stdout carries one JSON line per logged step,
{"step", "of", "loss", "temperature", "lr"}; rank 0 appends the same lines to train_log.jsonl in the output.
Before the first step and after the last, the loss (no grad, eval mode) on the first K global batches of the
file in its own order is written to metrics.json as fixed_batch_loss_before / fixed_batch_loss_after.

Output (rank 0, assembled in a sibling directory ".<name>.partial-*" and renamed into place at the end, so the
output directory is never half-written; the partial directory is removed if the run fails): the LoRA adapter
(adapter_config.json, adapter_model.safetensors), the tokenizer, temperature.json, train_config.json (the config
as run, flags applied; not named config.json, which transformers would take for the model's own),
train_log.jsonl, metrics.json.

Training file: JSONL rows {"anchor", "positive", "negative_1".."negative_k", "score"}; a row may have fewer
negatives than negatives_per_row (it uses what it has) or none; "score" defaults to 1.

Needs: torch, transformers, peft.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
import zlib

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

DEFAULTS = {
    "model": "Qwen/Qwen3-Embedding-0.6B",
    "train_file": "train.jsonl",
    "output_dir": "output",
    "lora": {
        "r": 32,
        "alpha": 64,
        "dropout": 0.05,
        "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    },
    "learning_rate": 1e-5,
    "global_batch_size": 512,
    "nproc_per_node": 8,
    "epochs": 1,
    "warmup_ratio": 0.05,
    "temperature_init": 0.03,
    "learn_temperature": True,
    "matryoshka_dims": [128, 256, 512, 1024],
    "negatives_per_row": 3,
    "query_query_negatives": True,
    "document_document_negatives": True,
    "false_negative_margin": 0.1,
    "query_instruction": "Instruct: Given a search query, retrieve relevant passages that answer the query\nQuery:",
    "max_query_length": 64,
    "max_document_length": 256,
    "bf16": True,
    "gradient_checkpointing": True,
    "seed": 42,
}


def log(message: str) -> None:
    rank = os.environ.get("RANK", "0")
    if rank == "0":
        print(f"[train_embedding] {message}", file=sys.stderr, flush=True)


class WeightedRows(Dataset):
    """Rows of the training file: (anchor, positive, [negatives...], weight)."""

    def __init__(self, path: str, negatives: int):
        self.rows: list[tuple[str, str, list[str], float]] = []
        with open(path, encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                where = f"{path}:{line_no}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise SystemExit(f"{where}: not JSON: {error}") from error
                for key in ("anchor", "positive"):
                    if not isinstance(row.get(key), str) or not row[key].strip():
                        raise SystemExit(f"{where}: {key}: expected a non-empty string")
                keys = sorted(
                    (k for k in row if k.startswith("negative_") and k[len("negative_") :].isdigit()),
                    key=lambda k: int(k[len("negative_") :]),
                )
                negs = [row[k] for k in keys if isinstance(row[k], str) and row[k].strip()][:negatives]
                score = row.get("score", 1.0)
                if (
                    isinstance(score, bool)
                    or not isinstance(score, (int, float))
                    or not math.isfinite(score)
                    or score < 0
                ):
                    raise SystemExit(f"{where}: score: expected a finite number >= 0, got {score!r}")
                self.rows.append((row["anchor"], row["positive"], negs, float(score)))
        if not self.rows:
            raise SystemExit(f"{path}: no rows")

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int):
        return self.rows[index]


def last_token_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Qwen3-Embedding pools the last non-padding token."""
    if bool((mask[:, -1] == 1).all()):
        return hidden[:, -1]
    lengths = mask.sum(dim=1) - 1
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), lengths]


def distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


class _AllGather(torch.autograd.Function):
    """all_gather whose backward sums every rank's gradient for this rank's rows (each rank's loss uses them)."""

    @staticmethod
    def forward(ctx, tensor):
        ctx.rows = tensor.shape[0]
        ctx.rank = dist.get_rank()
        parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.rows : (ctx.rank + 1) * ctx.rows]


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """All ranks' rows (every rank must pass the same shape); this rank's slice keeps its gradient."""
    if not distributed():
        return tensor
    return _AllGather.apply(tensor)


def gather_plain(tensor: torch.Tensor) -> torch.Tensor:
    """All ranks' values of a tensor that needs no gradient."""
    if not distributed():
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor)
    return torch.cat(parts, dim=0)


def gather_ragged(tensor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """All ranks' rows when ranks hold different numbers of rows (hard negatives): pads each rank's block to the
    largest, gathers with gradient, and returns (rows, valid) with `valid` False on the padding rows."""
    count = torch.tensor([tensor.shape[0]], dtype=torch.int64, device=tensor.device)
    counts = gather_plain(count)
    most = int(counts.max().item())
    if most > tensor.shape[0]:
        pad = tensor.new_zeros((most - tensor.shape[0], *tensor.shape[1:]))
        tensor = torch.cat([tensor, pad], dim=0)
    rows = gather_with_grad(tensor)
    valid = (torch.arange(most, device=tensor.device).unsqueeze(0) < counts.unsqueeze(1)).reshape(-1)
    return rows, valid


def query_ids(anchors: list[str], device: torch.device) -> torch.Tensor:
    """A stable id per query text (crc32: the same on every rank, unlike Python's salted hash)."""
    return torch.tensor([zlib.crc32(a.encode("utf-8")) for a in anchors], dtype=torch.int64, device=device)


def weighted_info_nce(q, p, n, weights, log_tau, config, offset, qids):
    """The SSRA loss of this rank's rows.

    q, p: [b, D] this rank's queries and positives; n: [m, D] this rank's hard negatives (m may differ by rank);
    weights: [b]; log_tau: scalar log temperature; qids: [b] query ids; offset: this rank's first row in the
    gathered batch. Returns (1/b) sum_i w_i * InfoNCE_i averaged over the Matryoshka dims; DDP averages gradients
    over ranks, which gives (1/B) sum over all B rows.

    Masked candidates get -inf AFTER the division by the temperature: -inf / tau has d/dtau = 0 * inf = NaN.
    """
    all_p = gather_with_grad(p)
    all_q = gather_with_grad(q)
    all_n, n_valid = gather_ragged(n)
    b = q.shape[0]
    rows = torch.arange(b, device=q.device)
    own = torch.zeros(b, all_q.shape[0], dtype=torch.bool, device=q.device)
    own[rows, offset + rows] = True
    # another row of the same query in the batch: its document may be as relevant as this row's, so it is no
    # in-batch negative (the row's own lower-graded negatives come through n)
    same_query = (qids.unsqueeze(1) == gather_plain(qids).unsqueeze(0)) & ~own
    n_padding = (~n_valid).unsqueeze(0).expand(b, -1)
    tau = log_tau.exp()
    margin = config.get("false_negative_margin")
    losses = []
    for dim in config["matryoshka_dims"]:
        qm = F.normalize(q[:, :dim].float(), dim=-1)
        pm = F.normalize(p[:, :dim].float(), dim=-1)
        cos_p = qm @ F.normalize(all_p[:, :dim].float(), dim=-1).T
        cos_n = qm @ F.normalize(all_n[:, :dim].float(), dim=-1).T
        positive = cos_p[rows, offset + rows]
        blocks = [cos_p, cos_n]
        masks = [same_query, n_padding]
        if config.get("query_query_negatives"):
            blocks.append(qm @ F.normalize(all_q[:, :dim].float(), dim=-1).T)
            masks.append(own | same_query)
        if config.get("document_document_negatives"):
            blocks.append(pm @ F.normalize(all_p[:, :dim].float(), dim=-1).T)
            masks.append(own)
        cos_all = torch.cat(blocks, dim=1)
        masked = torch.cat(masks, dim=1)
        if margin is not None:
            masked = masked | (cos_all > (positive.unsqueeze(1) + margin).detach())
        masked[rows, offset + rows] = False  # the positive itself (column offset + i of the first block)
        logits = (cos_all / tau).masked_fill(masked, -math.inf)
        loss_i = torch.logsumexp(logits, dim=1) - positive / tau
        losses.append((weights * loss_i).sum() / b)
    return torch.stack(losses).mean()


def load_config(args) -> dict:
    config = json.loads(json.dumps(DEFAULTS))
    if args.config:
        with open(args.config, encoding="utf-8") as handle:
            given = json.load(handle)
        lora = {**config["lora"], **(given.get("lora") or {})}
        config.update(given)
        config["lora"] = lora
    for flag, key in (("model", "model"), ("train_file", "train_file"), ("output_dir", "output_dir")):
        if getattr(args, flag) is not None:
            config[key] = getattr(args, flag)
    return config


def staging_dir(output_dir: str) -> str:
    target = os.path.abspath(output_dir)
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    return tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.partial-", dir=parent)


def publish(staging: str, output_dir: str) -> None:
    """Renames the finished staging directory to output_dir (an older output_dir is replaced)."""
    target = os.path.abspath(output_dir)
    old = None
    if os.path.exists(target):
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.old-", dir=os.path.dirname(target))
        os.rmdir(old)
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Grade-weighted InfoNCE + LoRA for a Qwen3-Embedding model.")
    parser.add_argument("--config", default="config.json", help="config.json (keys: see DEFAULTS); '' for none")
    parser.add_argument("--model", help="base model dir or hub id (overrides config.model)")
    parser.add_argument("--train-file", help="JSONL rows anchor, positive, negative_1..k, score")
    parser.add_argument("--output-dir")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after N optimizer steps")
    parser.add_argument("--log-every", type=int, default=1, help="log every N steps (and the last)")
    parser.add_argument("--fixed-batches", type=int, default=2, help="global batches for the before/after loss")
    args = parser.parse_args(argv)
    config = load_config(args)

    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

    is_distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    backend = "none"
    if is_distributed:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    rank = dist.get_rank() if is_distributed else 0
    world = dist.get_world_size() if is_distributed else 1
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    seed = int(config["seed"])
    random.seed(seed + rank)
    torch.manual_seed(seed + rank)

    if config["global_batch_size"] % world != 0:
        raise SystemExit(
            f"global_batch_size {config['global_batch_size']} does not split over {world} processes: "
            "pick a process count dividing it"
        )
    per_device = config["global_batch_size"] // world

    tokenizer = AutoTokenizer.from_pretrained(config["model"], padding_side="left")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    use_bf16 = bool(config["bf16"]) and device.type == "cuda" and torch.cuda.is_bf16_supported()
    dtype = torch.bfloat16 if use_bf16 else torch.float32
    log(
        f"device {device}, backend {backend}, world {world}, dtype {str(dtype).replace('torch.', '')}"
        + ("" if use_bf16 or not config["bf16"] else " (bf16 asked for, not supported here)")
    )
    model = AutoModel.from_pretrained(config["model"], dtype=dtype)
    hidden = int(model.config.hidden_size)
    dims = [int(d) for d in config["matryoshka_dims"] if int(d) <= hidden]
    skipped = [int(d) for d in config["matryoshka_dims"] if int(d) > hidden]
    if skipped:
        log(f"Matryoshka dims {skipped} exceed the model's hidden size {hidden}: skipped")
    if not dims:
        dims = [hidden]
        log(f"no Matryoshka dim fits: using the full size {hidden}")
    config["matryoshka_dims"] = dims
    if config["gradient_checkpointing"]:
        # non-reentrant: reentrant checkpointing under DDP with two forward passes per step (queries, documents)
        # fails with "Expected to mark a variable ready only once"
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    lora = config["lora"]
    model = get_peft_model(
        model,
        LoraConfig(
            r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"], target_modules=lora["target_modules"]
        ),
    )
    model.to(device)
    base = model
    log_tau = torch.nn.Parameter(
        torch.tensor(math.log(config["temperature_init"]), device=device),
        requires_grad=bool(config["learn_temperature"]),
    )
    if is_distributed:
        # static_graph: the same LoRA parameters run in two forward passes before each backward
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[local_rank] if device.type == "cuda" else None, static_graph=True
        )

    data = WeightedRows(config["train_file"], int(config["negatives_per_row"]))
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=True)
    loader = DataLoader(data, batch_size=per_device, sampler=sampler, drop_last=True, collate_fn=lambda batch: batch)
    if len(loader) == 0:
        raise SystemExit(f"{len(data)} rows make no global batch of {config['global_batch_size']}")
    params = [p for p in model.parameters() if p.requires_grad] + ([log_tau] if config["learn_temperature"] else [])
    optimizer = torch.optim.AdamW(params, lr=config["learning_rate"])
    steps = len(loader) * int(config["epochs"])
    if args.max_steps is not None and args.max_steps > 0:
        steps = min(steps, args.max_steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(steps * config["warmup_ratio"]), steps)
    instruction = config["query_instruction"]

    def encode(module, texts: list[str], max_length: int) -> torch.Tensor:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt").to(device)
        out = module(**batch)
        return last_token_pool(out.last_hidden_state, batch["attention_mask"])

    def batch_loss(module, batch) -> torch.Tensor:
        queries = [instruction + anchor for anchor, _, _, _ in batch]
        positives = [positive for _, positive, _, _ in batch]
        negatives = [n for _, _, negs, _ in batch for n in negs]
        weights = torch.tensor([w for _, _, _, w in batch], device=device, dtype=torch.float32)
        q = encode(module, queries, config["max_query_length"])
        d = encode(module, positives + negatives, config["max_document_length"])
        p, n = d[: len(positives)], d[len(positives) :]
        return weighted_info_nce(
            q, p, n, weights, log_tau, config, offset=rank * per_device, qids=query_ids(queries, device)
        )

    def mean_over_ranks(value: torch.Tensor) -> float:
        value = value.detach().float().clone()
        if is_distributed:
            dist.all_reduce(value)
            value /= world
        return value.item()

    fixed = min(max(args.fixed_batches, 0), len(data) // config["global_batch_size"])

    def fixed_batch_loss() -> float | None:
        """Mean loss over the first `fixed` global batches in file order (no grad, eval mode, all ranks)."""
        if fixed == 0:
            return None
        base.eval()
        total = torch.zeros((), device=device)
        with torch.no_grad():
            for j in range(fixed):
                start = j * config["global_batch_size"] + rank * per_device
                total += batch_loss(base, data.rows[start : start + per_device])
        base.train()
        return mean_over_ranks(total / fixed)

    staging = staging_dir(config["output_dir"]) if rank == 0 else None
    if staging is not None:
        log(f"writing to {staging} until done, then renaming it to {config['output_dir']}")
    try:
        log_file = open(os.path.join(staging, "train_log.jsonl"), "a", encoding="utf-8") if staging else None

        before = fixed_batch_loss()
        step = 0
        started = time.time()
        model.train()
        for epoch in range(int(config["epochs"])):
            if step >= steps:
                break
            sampler.set_epoch(epoch)
            for batch in loader:
                lr = scheduler.get_last_lr()[0]
                loss = batch_loss(model, batch)
                if not torch.isfinite(loss):
                    raise RuntimeError(f"non-finite loss at step {step}; lower the learning rate")
                loss.backward()
                if is_distributed and config["learn_temperature"] and log_tau.grad is not None:
                    # the temperature lives outside DDP: average its gradient like DDP does the model's
                    dist.all_reduce(log_tau.grad)
                    log_tau.grad /= world
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                if config["learn_temperature"]:
                    with torch.no_grad():
                        log_tau.clamp_(math.log(0.005), 0.0)
                step += 1
                if step % max(args.log_every, 1) == 0 or step == steps:
                    mean_loss = mean_over_ranks(loss)
                    if rank == 0:
                        line = json.dumps(
                            {
                                "step": step,
                                "of": steps,
                                "loss": round(mean_loss, 6),
                                "temperature": round(log_tau.exp().item(), 6),
                                "lr": lr,
                            }
                        )
                        print(line, flush=True)
                        log_file.write(line + "\n")
                        log_file.flush()
                if step >= steps:
                    break
        after = fixed_batch_loss()

        if rank == 0:
            log_file.close()
            base.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
            with open(os.path.join(staging, "temperature.json"), "w", encoding="utf-8") as handle:
                json.dump({"temperature": log_tau.exp().item(), "learned": bool(config["learn_temperature"])}, handle)
            # not "config.json": beside adapter_config.json that name would make transformers read it as the model's
            with open(os.path.join(staging, "train_config.json"), "w", encoding="utf-8") as handle:
                json.dump(config, handle, indent=2, ensure_ascii=False)
                handle.write("\n")
            metrics = {
                "fixed_batch_loss_before": before,
                "fixed_batch_loss_after": after,
                "fixed_batches": fixed,
                "steps": step,
                "world_size": world,
                "device": str(device),
                "backend": backend,
                "dtype": str(dtype).replace("torch.", ""),
                "matryoshka_dims": dims,
                "temperature": log_tau.exp().item(),
                "rows": len(data),
                "seconds": round(time.time() - started, 3),
            }
            with open(os.path.join(staging, "metrics.json"), "w", encoding="utf-8") as handle:
                json.dump(metrics, handle, indent=2)
                handle.write("\n")
            publish(staging, config["output_dir"])
            log(f"done: {json.dumps(metrics)}")
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    if is_distributed:
        dist.barrier()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
