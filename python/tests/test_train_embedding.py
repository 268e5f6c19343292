from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import KITS, read_jsonl, run_kit, torchrun, write_config

import train_embedding

LOSS_CONFIG = {
    "matryoshka_dims": [8, 16],
    "query_query_negatives": True,
    "document_document_negatives": True,
    "false_negative_margin": 0.1,
}


def loss_inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(4, 16, generator=g)
    p = torch.randn(4, 16, generator=g)
    n = torch.randn(5, 16, generator=g)
    n[0] = q[2] * 3  # cosine 1 with query 2: above its positive + margin, so masked as a false negative
    qids = torch.tensor([7, 7, 8, 9])  # rows 0 and 1 share a query: same-query masking
    return q.requires_grad_(), p.requires_grad_(), n.requires_grad_(), qids


def test_masking_with_learned_temperature_has_finite_gradients():
    q, p, n, qids = loss_inputs()
    log_tau = torch.nn.Parameter(torch.tensor(math.log(0.03)))
    weights = torch.tensor([1.0, 0.5, 2 / 3, 1 / 3])
    loss = train_embedding.weighted_info_nce(q, p, n, weights, log_tau, LOSS_CONFIG, offset=0, qids=qids)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(log_tau.grad) and log_tau.grad.abs() > 0
    for t in (q, p, n):
        assert torch.isfinite(t.grad).all()


def test_the_old_order_gave_nan():
    """The bug fixed: -inf set before dividing by the temperature makes d(loss)/d(tau) = 0 * inf = NaN."""
    tau = torch.tensor(0.03, requires_grad=True)
    cos = torch.tensor([[0.9, 0.2, 0.5]])
    mask = torch.tensor([[False, True, False]])
    old = torch.logsumexp(cos.masked_fill(mask, -math.inf) / tau, dim=1) - cos[:, 0] / tau
    old.sum().backward()
    assert torch.isnan(tau.grad)
    tau.grad = None
    new = torch.logsumexp((cos / tau).masked_fill(mask, -math.inf), dim=1) - cos[:, 0] / tau
    new.sum().backward()
    assert torch.isfinite(tau.grad)


def test_loss_is_linear_in_the_weights_and_zero_weight_adds_nothing():
    q, p, n, qids = loss_inputs(1)
    log_tau = torch.tensor(math.log(0.05))

    def loss(weights):
        w = torch.tensor(weights)
        return train_embedding.weighted_info_nce(q, p, n, w, log_tau, LOSS_CONFIG, offset=0, qids=qids)

    parts = [loss([1.0 if i == j else 0.0 for i in range(4)]) for j in range(4)]
    assert torch.allclose(sum(parts), loss([1.0, 1.0, 1.0, 1.0]), rtol=1e-5)
    assert torch.allclose(loss([1.0, 0.0, 1.0, 1.0]), parts[0] + parts[2] + parts[3], rtol=1e-5)
    # without q-q negatives a row's query enters only its own term: a zero-weight row gives it no gradient
    no_qq = {**LOSS_CONFIG, "query_query_negatives": False}
    w = torch.tensor([1.0, 0.0, 1.0, 1.0])
    train_embedding.weighted_info_nce(q, p, n, w, log_tau, no_qq, offset=0, qids=qids).backward()
    assert torch.all(q.grad[1] == 0) and torch.all(q.grad[0] != 0)


def test_torchrun_two_processes_trains(trained_embedding):
    out = trained_embedding["out"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["backend"] == "gloo" and metrics["device"] == "cpu"
    assert metrics["steps"] == 20 and metrics["dtype"] == "float32"
    assert metrics["matryoshka_dims"] == [32, 64]
    before, after = metrics["fixed_batch_loss_before"], metrics["fixed_batch_loss_after"]
    assert math.isfinite(before) and math.isfinite(after) and after < before

    lines = [json.loads(line) for line in trained_embedding["stdout"].splitlines() if line.startswith("{")]
    assert [line["step"] for line in lines] == list(range(1, 21))
    assert all(set(line) == {"step", "of", "loss", "temperature", "lr"} for line in lines)
    assert all(math.isfinite(line["loss"]) and line["of"] == 20 for line in lines)
    assert read_jsonl(out / "train_log.jsonl") == lines
    assert "exceed the model's hidden size" in trained_embedding["stderr"]

    temperature = json.loads((out / "temperature.json").read_text())
    assert 0.005 <= temperature["temperature"] <= 1 and temperature["temperature"] != 0.03
    run_config = json.loads((out / "train_config.json").read_text())
    assert run_config["output_dir"] == str(out) and run_config["an_unknown_key"] == "is ignored"
    assert not list(out.parent.glob(f".{out.name}.partial-*"))


def test_adapter_loads_with_peft(trained_embedding, tiny):
    from peft import PeftModel
    from transformers import AutoModel

    base = AutoModel.from_pretrained(tiny["dirs"]["embedding"])
    model = PeftModel.from_pretrained(base, str(trained_embedding["out"]))
    assert any("lora_A" in name for name, _ in model.named_parameters())
    merged = model.merge_and_unload()
    untouched = AutoModel.from_pretrained(tiny["dirs"]["embedding"])
    name = "layers.0.self_attn.q_proj.weight"
    assert not torch.equal(merged.state_dict()[name], untouched.state_dict()[name])


def test_one_process_matches_two(trained_embedding, work):
    """Same global batches, same loss: the cross-process gather, its backward and the gradient averaging (model
    and temperature) reproduce single-process training."""
    out = work / "embedding_out_1proc"
    run_kit(
        [
            KITS / "train_embedding.py",
            "--config",
            trained_embedding["config"],
            "--output-dir",
            out,
            "--max-steps",
            "20",
        ],
        cwd=work,
    )
    one = read_jsonl(out / "train_log.jsonl")
    two = read_jsonl(trained_embedding["out"] / "train_log.jsonl")
    for a, b in zip(one, two, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=2e-3)
        assert a["temperature"] == pytest.approx(b["temperature"], rel=2e-3)
    assert json.loads((out / "metrics.json").read_text())["backend"] == "none"


def test_global_batch_must_split_over_processes(work, tiny, embedding_train_file, tmp_path):
    config = json.loads(
        write_config(tmp_path / "c.json", tiny["dirs"]["embedding"], embedding_train_file, tmp_path).read_text()
    )
    config["global_batch_size"] = 7
    (tmp_path / "c.json").write_text(json.dumps(config))
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, *torchrun(2), str(KITS / "train_embedding.py"), "--config", str(tmp_path / "c.json")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "does not split over 2 processes" in proc.stderr
