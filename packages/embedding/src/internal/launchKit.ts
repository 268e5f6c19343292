/**
 * The text of the launch kit's files. The Python script is kept short and self-contained: transformers + peft +
 * torch, no trainer framework, so what it does to the loss is all on one screen.
 */
import type { LaunchConfig } from "../Export.js"

export const trainScript = `"""Grade-weighted InfoNCE fine-tuning of a Qwen3-Embedding model with LoRA (written by ssra's launch kit).

Loss (SSRA, arXiv 2509.16717, footnote 4): L = (1/B) * sum_i w_i * InfoNCE_i, with w_i the "score" column of
train.jsonl; in-batch negatives gathered across GPUs, the row's hard negatives, optional query-query and
document-document negatives, candidates whose cosine beats the positive's by > margin masked as likely false
negatives, a learnable temperature, and the loss averaged over Matryoshka prefix sizes.

Run through launch.sh (torchrun). Needs: torch, transformers>=4.51, peft.
"""
import argparse
import json
import math
import os
import random
import zlib

import torch
import torch.distributed as dist
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup


class WeightedRows(Dataset):
    """Rows of train.jsonl: anchor, positive, negative_1..k, score."""

    def __init__(self, path, negatives):
        self.rows = []
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                keys = sorted((k for k in row if k.startswith("negative_")), key=lambda k: int(k.split("_")[1]))
                self.rows.append((row["anchor"], row["positive"], [row[k] for k in keys][:negatives], float(row["score"])))

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        return self.rows[index]


def last_token_pool(hidden, mask):
    """Qwen3-Embedding pools the last non-padding token."""
    if bool((mask[:, -1] == 1).all()):
        return hidden[:, -1]
    lengths = mask.sum(dim=1) - 1
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), lengths]


def gather_with_grad(tensor):
    """All ranks' rows; this rank's slice keeps its gradient."""
    if not (dist.is_available() and dist.is_initialized()):
        return tensor
    import torch.distributed.nn.functional as dist_nn

    return torch.cat(dist_nn.all_gather(tensor), dim=0)


def gather_plain(tensor):
    """All ranks' values of a tensor that needs no gradient (the rows' query ids)."""
    if not (dist.is_available() and dist.is_initialized()):
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor)
    return torch.cat(parts, dim=0)


def query_ids(anchors, device):
    """A stable id per query text (crc32: the same on every rank, unlike Python's salted hash)."""
    return torch.tensor([zlib.crc32(a.encode("utf-8")) for a in anchors], dtype=torch.int64, device=device)


def weighted_info_nce(q, p, n, weights, log_tau, config, offset, qids):
    """q, p: [b, D] local rows; n: [b * k, D]; weights: [b]; qids: [b] query ids. offset: this rank's first row."""
    all_p = gather_with_grad(p)
    all_n = gather_with_grad(n)
    all_q = gather_with_grad(q)
    b = q.shape[0]
    rows = torch.arange(b, device=q.device)
    own = torch.zeros(b, all_q.shape[0], dtype=torch.bool, device=q.device)
    own[rows, offset + rows] = True
    # another row of the same query in the batch: its document may be as relevant as this row's, so it is no
    # in-batch negative (the row's own lower-graded negatives come through n)
    same_query = (qids.unsqueeze(1) == gather_plain(qids).unsqueeze(0)) & ~own
    tau = log_tau.exp()
    margin = config["false_negative_margin"]
    losses = []
    for dim in config["matryoshka_dims"]:
        qm = F.normalize(q[:, :dim].float(), dim=-1)
        pm = F.normalize(p[:, :dim].float(), dim=-1)
        cand_docs = F.normalize(torch.cat([all_p, all_n], dim=0)[:, :dim].float(), dim=-1)
        cos = qm @ cand_docs.T
        positive = cos[rows, offset + rows]
        in_batch = cos[:, : all_p.shape[0]].masked_fill(same_query, -math.inf)
        blocks = [in_batch, cos[:, all_p.shape[0]:]]
        if config["query_query_negatives"]:
            qq = qm @ F.normalize(all_q[:, :dim].float(), dim=-1).T
            blocks.append(qq.masked_fill(own | same_query, -math.inf))
        if config["document_document_negatives"]:
            dd = pm @ F.normalize(all_p[:, :dim].float(), dim=-1).T
            blocks.append(dd.masked_fill(own, -math.inf))
        cos_all = torch.cat(blocks, dim=1)
        if margin is not None:
            suspicious = cos_all > (positive.unsqueeze(1) + margin)
            cos_all = cos_all.masked_fill(suspicious, -math.inf)
        logits = cos_all / tau
        positive_logit = positive / tau
        loss_i = torch.logsumexp(logits, dim=1) - positive_logit
        # (1/b) sum over this rank's rows; DDP averages gradients over ranks, giving (1/B) sum over all B rows
        losses.append((weights * loss_i).sum() / b)
    return torch.stack(losses).mean()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="config.json")
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as handle:
        config = json.load(handle)

    distributed = "RANK" in os.environ
    if distributed:
        dist.init_process_group("nccl")
    rank = dist.get_rank() if distributed else 0
    world = dist.get_world_size() if distributed else 1
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    random.seed(config["seed"] + rank)
    torch.manual_seed(config["seed"] + rank)

    tokenizer = AutoTokenizer.from_pretrained(config["model"], padding_side="left")
    dtype = torch.bfloat16 if config["bf16"] else torch.float32
    model = AutoModel.from_pretrained(config["model"], torch_dtype=dtype)
    if config["gradient_checkpointing"]:
        # non-reentrant: reentrant checkpointing under DDP with two forward passes per step (queries, documents)
        # fails with "Expected to mark a variable ready only once"
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    lora = config["lora"]
    model = get_peft_model(model, LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"], target_modules=lora["target_modules"]))
    model.to(device)
    log_tau = torch.nn.Parameter(torch.tensor(math.log(config["temperature_init"]), device=device), requires_grad=config["learn_temperature"])
    if distributed:
        # static_graph: the same LoRA parameters run in two forward passes before each backward
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[local_rank] if device.type == "cuda" else None, static_graph=True
        )

    if config["global_batch_size"] % world != 0:
        raise SystemExit(f"global_batch_size {config['global_batch_size']} does not split over {world} processes: pick NPROC dividing it")
    per_device = config["global_batch_size"] // world
    data = WeightedRows(config["train_file"], config["negatives_per_row"])
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=config["seed"], drop_last=True)
    loader = DataLoader(data, batch_size=per_device, sampler=sampler, drop_last=True, collate_fn=lambda batch: batch)
    params = [p for p in model.parameters() if p.requires_grad] + ([log_tau] if config["learn_temperature"] else [])
    optimizer = torch.optim.AdamW(params, lr=config["learning_rate"])
    steps = len(loader) * config["epochs"]
    scheduler = get_linear_schedule_with_warmup(optimizer, int(steps * config["warmup_ratio"]), steps)

    def encode(texts, max_length):
        batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt").to(device)
        out = model(**batch)
        return last_token_pool(out.last_hidden_state, batch["attention_mask"])

    instruction = config["query_instruction"]
    step = 0
    model.train()
    for epoch in range(config["epochs"]):
        sampler.set_epoch(epoch)
        for batch in loader:
            queries = [instruction + anchor for anchor, _, _, _ in batch]
            positives = [positive for _, positive, _, _ in batch]
            negatives = [n for _, _, negs, _ in batch for n in negs]
            weights = torch.tensor([w for _, _, _, w in batch], device=device, dtype=torch.float32)
            q = encode(queries, config["max_query_length"])
            d = encode(positives + negatives, config["max_document_length"])
            p, n = d[: len(positives)], d[len(positives):]
            loss = weighted_info_nce(
                q, p, n, weights, log_tau, config, offset=rank * per_device, qids=query_ids(queries, device)
            )
            if not torch.isfinite(loss):
                raise RuntimeError(f"non-finite loss at step {step}; lower the learning rate")
            loss.backward()
            if distributed and config["learn_temperature"] and log_tau.grad is not None:
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
            if rank == 0 and step % 10 == 0:
                print(json.dumps({"step": step, "of": steps, "loss": round(loss.item(), 5), "temperature": round(log_tau.exp().item(), 5)}), flush=True)

    if rank == 0:
        target = model.module if distributed else model
        target.save_pretrained(config["output_dir"])
        tokenizer.save_pretrained(config["output_dir"])
        with open(os.path.join(config["output_dir"], "temperature.json"), "w", encoding="utf-8") as handle:
            json.dump({"temperature": log_tau.exp().item()}, handle)
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
`

export const launchScript = (config: LaunchConfig): string => `#!/usr/bin/env bash
# Fine-tunes ${config.model} with LoRA on train.jsonl (grade-weighted InfoNCE). Written by ssra's launch kit.
set -euo pipefail
cd "$(dirname "$0")"
NPROC="\${NPROC:-${config.nproc_per_node}}"
torchrun --standalone --nnodes=1 --nproc_per_node="$NPROC" train_weighted.py --config config.json
`

export const launchReadme = (
  config: LaunchConfig,
  rows: number
): string => `# Launch kit: ${config.model} + LoRA, grade-weighted InfoNCE

Written by ssra (\`Export.launchKit\`). ${rows} training rows in \`${config.train_file}\`.

\`\`\`sh
pip install torch "transformers>=4.51" peft
NPROC=${config.nproc_per_node} ./launch.sh
# = torchrun --standalone --nnodes=1 --nproc_per_node=${config.nproc_per_node} train_weighted.py --config config.json
\`\`\`

| file | what |
|---|---|
| \`config.json\` | model, LoRA (r=${config.lora.r}, alpha=${config.lora.alpha}), lr ${config.learning_rate}, global batch ${config.global_batch_size} (${config.global_batch_size / config.nproc_per_node} per GPU), temperature ${config.temperature_init} (${config.learn_temperature ? "learned" : "fixed"}), Matryoshka dims [${config.matryoshka_dims.join(", ")}] |
| \`${config.train_file}\` | sentence-transformers rows: \`anchor\`, \`positive\`, \`negative_1..${config.negatives_per_row}\`, \`score\` = the row's loss weight w(s) |
| \`train_weighted.py\` | the loss: \`(1/B) Σ w_i · InfoNCE_i\`, in-batch negatives gathered across GPUs, hard negatives, q–q/d–d negatives, false-negative margin ${config.false_negative_margin}, Matryoshka dims averaged |
| \`launch.sh\` | the torchrun command line |

The LoRA adapter, the tokenizer and \`temperature.json\` land in \`${config.output_dir}/\`.
`
