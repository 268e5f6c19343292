"""Supervised fine-tuning of a chat LLM with LoRA (TRL SFTTrainer + PEFT): ssra's score / query / judge models.

    python sft_train.py --config sft_config.json [--model DIR_OR_ID] [--train-file FILE] [--output-dir DIR]
        [--max-steps N] [--learning-rate LR] [--no-merge] [--assistant-only-loss | --no-assistant-only-loss]
        [--deepspeed ds_zero2.json] [--fixed-rows K]
    torchrun --standalone --nproc_per_node=N sft_train.py --config sft_config.json ...
    accelerate launch [--num_processes N] sft_train.py --config sft_config.json ...

Data parallel over the launched processes (NCCL with CUDA, gloo on CPU). --deepspeed passes a DeepSpeed config
(e.g. ds_zero2.json beside this file) through to the training arguments; DeepSpeed itself is not needed otherwise.

Training file: JSONL rows {"messages": [{"role": "system" | "user" | "assistant", "content": "..."}, ...]} — e.g.
a score model's {"grade": 2} answers or a query model's {"queries": ["..."]}. With assistant_only_loss (default
on) only the assistant turns count in the loss; TRL swaps in a training chat template with {% generation %}
markers for the model families it knows (Qwen2.5 / Qwen3 among them) when the model's own template has none.

Config keys (sft_config.json; flags override): model, train_file, output_dir, lora {r, alpha, dropout,
target_modules}, learning_rate, per_device_batch_size, gradient_accumulation_steps, epochs, max_steps (-1: run
the epochs), max_length, assistant_only_loss, warmup_ratio, seed, bf16 (used only where the GPU supports it),
gradient_checkpointing, merge, logging_steps. Unknown keys are ignored.

Output (rank 0, assembled in a sibling ".<name>.partial-*" directory and renamed into place at the end):
  adapter/          the LoRA adapter and the tokenizer
  merged/           (unless --no-merge) the base model with the adapter merged in (merge_and_unload), the tokenizer
                    and its chat template and the generation config: a plain model directory for
                    `transformers serve merged/`, vLLM or AutoModelForCausalLM
  train_log.jsonl   the trainer's log lines (loss, learning rate, ...), one JSON object per logging step
  train_config.json the config as run
  metrics.json      {"fixed_batch_loss_before", "fixed_batch_loss_after", "steps", "world_size", "device", ...}:
                    the mean token loss (no grad, eval mode) on the first K training rows, tokenized exactly as
                    the trainer does (the trainer's own processed rows and collator; assistant tokens only when
                    assistant_only_loss is on)

Needs: torch, transformers, peft, trl, datasets, accelerate.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile

DEFAULTS = {
    "model": "Qwen/Qwen3-0.6B",
    "train_file": "train.jsonl",
    "output_dir": "output",
    "lora": {
        "r": 16,
        "alpha": 32,
        "dropout": 0.05,
        "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    },
    "learning_rate": 1e-4,
    "per_device_batch_size": 4,
    "gradient_accumulation_steps": 1,
    "epochs": 1,
    "max_steps": -1,
    "max_length": 1024,
    "assistant_only_loss": True,
    "warmup_ratio": 0.03,
    "seed": 42,
    "bf16": True,
    "gradient_checkpointing": True,
    "merge": True,
    "logging_steps": 10,
}
ROLES = {"system", "user", "assistant"}


def log(message: str) -> None:
    if os.environ.get("RANK", "0") == "0":
        print(f"[sft_train] {message}", file=sys.stderr, flush=True)


def load_config(args) -> dict:
    config = json.loads(json.dumps(DEFAULTS))
    if args.config:
        with open(args.config, encoding="utf-8") as handle:
            given = json.load(handle)
        lora = {**config["lora"], **(given.get("lora") or {})}
        config.update(given)
        config["lora"] = lora
    overrides = {
        "model": args.model,
        "train_file": args.train_file,
        "output_dir": args.output_dir,
        "max_steps": args.max_steps,
        "learning_rate": args.learning_rate,
        "assistant_only_loss": args.assistant_only_loss,
        "merge": args.merge,
    }
    config.update({k: v for k, v in overrides.items() if v is not None})
    return config


def read_chat_rows(path: str, need_assistant: bool) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{line_no}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise SystemExit(f"{where}: not JSON: {error}") from error
            messages = row.get("messages")
            if not isinstance(messages, list) or not messages:
                raise SystemExit(f"{where}: messages: expected a non-empty list")
            clean = []
            for i, message in enumerate(messages):
                if not isinstance(message, dict) or message.get("role") not in ROLES:
                    raise SystemExit(f"{where}: messages[{i}].role: expected one of {sorted(ROLES)}")
                if not isinstance(message.get("content"), str):
                    raise SystemExit(f"{where}: messages[{i}].content: expected a string")
                clean.append({"role": message["role"], "content": message["content"]})
            if need_assistant and not any(m["role"] == "assistant" for m in clean):
                raise SystemExit(f"{where}: messages: no assistant turn (assistant_only_loss needs one)")
            rows.append({"messages": clean})
    if not rows:
        raise SystemExit(f"{path}: no rows")
    return rows


def sibling_dir(target: str, kind: str) -> str:
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    return tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.{kind}-", dir=parent)


def publish(staging: str, target: str) -> None:
    old = None
    if os.path.exists(target):
        old = sibling_dir(target, "old")
        os.rmdir(old)
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="LoRA SFT of a chat LLM (TRL).")
    parser.add_argument("--config", default="sft_config.json", help="sft_config.json; '' for none")
    parser.add_argument("--model")
    parser.add_argument("--train-file")
    parser.add_argument("--output-dir")
    parser.add_argument("--max-steps", type=int, default=None, help="-1: run the configured epochs")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--merge", action=argparse.BooleanOptionalAction, default=None, help="write merged/")
    parser.add_argument("--assistant-only-loss", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--deepspeed", default=None, help="DeepSpeed config JSON, passed to the training args")
    parser.add_argument("--fixed-rows", type=int, default=8, help="rows for the before/after loss")
    args = parser.parse_args(argv)
    if args.config and not os.path.exists(args.config) and args.config == parser.get_default("config"):
        args.config = ""
    config = load_config(args)

    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback, set_seed
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    cuda = torch.cuda.is_available()
    use_bf16 = bool(config["bf16"]) and cuda and torch.cuda.is_bf16_supported()
    log(
        f"world {world}, {'cuda' if cuda else 'cpu'}, dtype {'bfloat16' if use_bf16 else 'float32'}"
        + (" (bf16 asked for, not supported here)" if config["bf16"] and not use_bf16 else "")
    )
    set_seed(int(config["seed"]))

    rows = read_chat_rows(config["train_file"], bool(config["assistant_only_loss"]))
    tokenizer = AutoTokenizer.from_pretrained(config["model"])
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(config["model"], dtype=torch.bfloat16 if use_bf16 else torch.float32)

    target = os.path.abspath(config["output_dir"])
    scratch = sibling_dir(target, "trainer") if rank == 0 else None
    staging = sibling_dir(target, "partial") if rank == 0 else None
    if staging:
        log(f"writing to {staging} until done, then renaming it to {target}")

    try:
        lora = config["lora"]
        sft_args = SFTConfig(
            # checkpoints are off; the trainer's own directory is scratch space, removed at the end
            output_dir=scratch
            or os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.trainer-rank{rank}"),
            per_device_train_batch_size=int(config["per_device_batch_size"]),
            per_device_eval_batch_size=int(config["per_device_batch_size"]),
            gradient_accumulation_steps=int(config["gradient_accumulation_steps"]),
            num_train_epochs=float(config["epochs"]),
            max_steps=int(config["max_steps"]),
            learning_rate=float(config["learning_rate"]),
            # transformers 5: a float in [0, 1) is a ratio of the total steps
            warmup_steps=float(config["warmup_ratio"]) if 0 < float(config["warmup_ratio"]) < 1 else 0,
            lr_scheduler_type="linear",
            seed=int(config["seed"]),
            data_seed=int(config["seed"]),
            max_length=int(config["max_length"]),
            assistant_only_loss=bool(config["assistant_only_loss"]),
            packing=False,
            bf16=use_bf16,
            gradient_checkpointing=bool(config["gradient_checkpointing"]),
            gradient_checkpointing_kwargs={"use_reentrant": False} if config["gradient_checkpointing"] else None,
            logging_steps=int(config["logging_steps"]),
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            dataloader_pin_memory=cuda,
            # gloo where there is no CUDA (NCCL needs it); None lets the trainer pick (NCCL) on GPUs
            ddp_backend="gloo" if world > 1 and not cuda else None,
            ddp_find_unused_parameters=False if world > 1 else None,
            deepspeed=args.deepspeed,
        )
        peft_config = LoraConfig(
            r=int(lora["r"]),
            lora_alpha=int(lora["alpha"]),
            lora_dropout=float(lora["dropout"]),
            target_modules=lora["target_modules"],
            task_type="CAUSAL_LM",
        )

        class JsonlLog(TrainerCallback):
            def __init__(self, path: str | None):
                self.handle = open(path, "a", encoding="utf-8") if path else None

            def on_log(self, _args, state, control, logs=None, **kwargs):
                if self.handle is not None and logs:
                    line = {"step": state.global_step, "of": state.max_steps, **logs}
                    if "loss" in logs and scaled_loss_log:
                        # transformers 5 logs world_size x the token-mean loss when it averages tokens across
                        # processes (the gradient is right; the logged number is scaled)
                        line["loss_per_token"] = logs["loss"] / world
                    self.handle.write(json.dumps(line) + "\n")
                    self.handle.flush()
                    print(json.dumps(line), flush=True)

            def close(self):
                if self.handle is not None:
                    self.handle.close()

        scaled_loss_log = world > 1 and bool(getattr(sft_args, "average_tokens_across_devices", False))
        log_callback = JsonlLog(os.path.join(staging, "train_log.jsonl") if staging else None)
        trainer = SFTTrainer(
            model=model,
            args=sft_args,
            train_dataset=Dataset.from_list(rows),
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=[log_callback],
        )
        # the trainer prints its own log dicts too; ours go to stdout as JSON lines
        trainer.remove_callback(PrinterCallback)
        fixed = min(max(args.fixed_rows, 0), len(trainer.train_dataset))
        device = trainer.args.device

        def fixed_batch_loss() -> float | None:
            """Token-weighted mean loss over the first `fixed` rows as the trainer tokenized them."""
            if fixed == 0:
                return None
            net = trainer.model
            was_training = net.training
            net.eval()
            total, tokens = 0.0, 0
            size = int(config["per_device_batch_size"])
            with torch.no_grad():
                for start in range(0, fixed, size):
                    examples = [
                        {k: v for k, v in trainer.train_dataset[i].items() if k in ("input_ids", "labels")}
                        for i in range(start, min(start + size, fixed))
                    ]
                    batch = {k: v.to(device) for k, v in trainer.data_collator(examples).items()}
                    count = int((batch["labels"][:, 1:] != -100).sum())
                    if count == 0:
                        continue
                    loss = net(**batch).loss.float().item()
                    total += loss * count
                    tokens += count
            net.train(was_training)
            return total / tokens if tokens else None

        before = fixed_batch_loss()
        result = trainer.train()
        after = fixed_batch_loss()
        log_callback.close()
        if before is not None and not math.isfinite(before + after):
            raise RuntimeError(f"non-finite fixed-batch loss: before {before}, after {after}")

        if trainer.is_world_process_zero():
            peft_model = trainer.model
            adapter_dir = os.path.join(staging, "adapter")
            peft_model.save_pretrained(adapter_dir)
            tokenizer.save_pretrained(adapter_dir)
            merged_dir = None
            if config["merge"]:
                merged_dir = os.path.join(staging, "merged")
                merged = peft_model.merge_and_unload()
                merged.save_pretrained(merged_dir)
                tokenizer.save_pretrained(merged_dir)
            with open(os.path.join(staging, "train_config.json"), "w", encoding="utf-8") as handle:
                json.dump({**config, "deepspeed": args.deepspeed}, handle, indent=2, ensure_ascii=False)
                handle.write("\n")
            metrics = {
                "fixed_batch_loss_before": before,
                "fixed_batch_loss_after": after,
                "fixed_rows": fixed,
                "steps": trainer.state.global_step,
                "world_size": world,
                "device": str(device),
                "dtype": "bfloat16" if use_bf16 else "float32",
                "assistant_only_loss": bool(config["assistant_only_loss"]),
                "train_loss": result.training_loss,
                "train_loss_per_token": result.training_loss / world if scaled_loss_log else result.training_loss,
                "rows": len(rows),
                "merged": merged_dir is not None,
            }
            with open(os.path.join(staging, "metrics.json"), "w", encoding="utf-8") as handle:
                json.dump(metrics, handle, indent=2)
                handle.write("\n")
            publish(staging, target)
            shutil.rmtree(scratch, ignore_errors=True)
            log(f"done: {json.dumps(metrics)}")
    except BaseException:
        for path in (staging, scratch):
            if path:
                shutil.rmtree(path, ignore_errors=True)
        raise
    if world > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.barrier()
    return 0


if __name__ == "__main__":
    sys.exit(main())
