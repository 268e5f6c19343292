from __future__ import annotations

import json
import math

import pytest
from conftest import KITS, read_jsonl, run_kit, torchrun


@pytest.fixture(scope="session")
def sft_config(work, tiny, chat_file):
    config = {
        "model": tiny["dirs"]["causal-lm"],
        "train_file": str(chat_file),
        "output_dir": str(work / "sft-default-out"),
        "lora": {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]},
        "learning_rate": 5e-3,
        "per_device_batch_size": 4,
        "gradient_accumulation_steps": 1,
        "epochs": 1,
        "max_steps": -1,
        "max_length": 256,
        "assistant_only_loss": True,
        "warmup_ratio": 0.0,
        "seed": 0,
        "bf16": True,
        "gradient_checkpointing": False,
        "merge": True,
        "logging_steps": 5,
        "an_unknown_key": 1,
    }
    path = work / "sft_config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def check_metrics(out, world_size: int, steps: int, assistant_only: bool) -> dict:
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == world_size and metrics["steps"] == steps and metrics["device"] == "cpu"
    assert metrics["assistant_only_loss"] is assistant_only and metrics["dtype"] == "float32"
    before, after = metrics["fixed_batch_loss_before"], metrics["fixed_batch_loss_after"]
    assert math.isfinite(before) and math.isfinite(after) and after < before
    log = read_jsonl(out / "train_log.jsonl")
    losses = [line["loss"] for line in log if "loss" in line]
    assert losses and all(math.isfinite(v) for v in losses)
    assert not list(out.parent.glob(f".{out.name}.*"))
    return metrics


def generate(model_dir, messages):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    inputs = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = model.generate(**inputs, max_new_tokens=8, do_sample=False)
    return out.shape[1] - inputs["input_ids"].shape[1]


@pytest.mark.parametrize("assistant_only", [True, False], ids=["assistant-only", "all-tokens"])
def test_sft_single_process_merges_and_generates(work, sft_config, assistant_only):
    out = work / f"sft-{'assistant' if assistant_only else 'all'}"
    flag = "--assistant-only-loss" if assistant_only else "--no-assistant-only-loss"
    proc = run_kit(
        [KITS / "sft_train.py", "--config", sft_config, "--output-dir", out, "--max-steps", "20", flag], cwd=work
    )
    check_metrics(out, 1, 20, assistant_only)
    stdout_lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [line["step"] for line in stdout_lines if "loss" in line] == [5, 10, 15, 20]

    assert (out / "adapter" / "adapter_config.json").exists()
    assert json.loads((out / "adapter" / "adapter_config.json").read_text())["r"] == 8
    merged = out / "merged"
    assert (merged / "config.json").exists() and (merged / "generation_config.json").exists()
    assert "generation" in (merged / "chat_template.jinja").read_text()
    score_prompt = [
        {"role": "system", "content": "Grade how relevant the document is to the query, 0-3."},
        {"role": "user", "content": "Query: 感冒\nDocument: 感冒吃什么药"},
    ]
    assert generate(merged, score_prompt) > 0
    query_prompt = [{"role": "user", "content": "Document: 感冒吃什么药\nGrade: 3\nWrite search queries."}]
    assert generate(merged, query_prompt) > 0
    run_config = json.loads((out / "train_config.json").read_text())
    assert run_config["assistant_only_loss"] is assistant_only and run_config["max_steps"] == 20


def test_sft_torchrun_two_processes(work, sft_config):
    out = work / "sft-ddp"
    run_kit(
        [*torchrun(2), KITS / "sft_train.py", "--config", sft_config, "--output-dir", out, "--max-steps", "10"]
        + ["--no-merge", "--learning-rate", "5e-3"],
        cwd=work,
    )
    metrics = check_metrics(out, 2, 10, True)
    assert metrics["merged"] is False and not (out / "merged").exists()
    assert (out / "adapter" / "adapter_model.safetensors").exists()
    log = [line for line in read_jsonl(out / "train_log.jsonl") if "loss" in line]
    assert all(line["loss_per_token"] == pytest.approx(line["loss"] / 2) for line in log)


def test_sft_rejects_rows_without_assistant_turn(work, sft_config, tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(KITS / "sft_train.py"), "--config", str(sft_config), "--train-file", str(bad)]
        + ["--output-dir", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and f"{bad}:1: messages: no assistant turn" in proc.stderr
    assert not (tmp_path / "out").exists()
