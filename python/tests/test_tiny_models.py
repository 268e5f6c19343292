from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import KITS, run_kit


def tree_digest(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def test_tokenizer_formats_and_chat_template(tiny):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny["dirs"]["tokenizer"])
    assert tok.pad_token == "<|endoftext|>" and tok.eos_token == "<|im_end|>"
    assert tok.pad_token_id == tiny["pad_token_id"] and tok.eos_token_id == tiny["eos_token_id"]
    for special in ("<|im_start|>", "<|im_end|>", "<|endoftext|>"):
        assert len(tok(special, add_special_tokens=False)["input_ids"]) == 1

    def pieces(text: str) -> list[str]:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids) == text
        return [tok.decode([i]) for i in ids]

    for char in list("0123AB") + ["{", "}", '"', ":", "[", "]"]:
        assert pieces(char) == [char]
    for grade in range(4):
        # the grade is a token of its own, right after the prefix: a score model's logprobs read it directly
        assert pieces(f'{{"grade": {grade}}}')[-2:] == [str(grade), "}"]
        assert "".join(pieces(f'{{"grade": {grade}}}')[:-2]) == '{"grade": '
    assert len(pieces('{"grade": ')) <= 4
    assert len(pieces('{"queries": ["')) <= 4
    assert "A" in pieces('{"better": "A"}') and "B" in pieces('{"better": "B"}')

    messages = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": '{"grade": 2}'},
    ]
    out = tok.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    masked = [i for i, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tok.decode(masked) == '{"grade": 2}<|im_end|>'
    prompt = tok.apply_chat_template(messages[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>assistant\n")
    assert "{% generation %}" in tok.chat_template.replace("{%-", "{%").replace("-%}", "%}")


def test_models_load_and_run(tiny):
    import torch
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    lm_dir = tiny["dirs"]["causal-lm"]
    tok = AutoTokenizer.from_pretrained(lm_dir)
    lm = AutoModelForCausalLM.from_pretrained(lm_dir)
    cfg = lm.config
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads) == (2, 64, 4, 2)
    assert cfg.intermediate_size == 128 and cfg.max_position_embeddings == 1024 and cfg.tie_word_embeddings
    assert cfg.vocab_size == len(tok) and lm.generation_config.eos_token_id == tok.eos_token_id
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    out = lm.generate(**ids, max_new_tokens=3, do_sample=False)
    assert out.shape[1] > ids["input_ids"].shape[1]

    emb = AutoModel.from_pretrained(tiny["dirs"]["embedding"])
    batch = AutoTokenizer.from_pretrained(tiny["dirs"]["embedding"])(
        ["感冒", "发烧吃什么"], padding=True, return_tensors="pt"
    )
    with torch.no_grad():
        hidden = emb(**batch).last_hidden_state
    assert hidden.shape[-1] == 64 and torch.isfinite(hidden).all()


def test_cli_is_deterministic(tmp_path, work, tiny):
    texts = work / "texts.jsonl"
    a = run_kit([KITS / "tiny_models.py", "--texts", texts, "--out", tmp_path / "a", "--seed", "3"], cwd=tmp_path)
    run_kit([KITS / "tiny_models.py", "--texts", texts, "--out", tmp_path / "b", "--seed", "3"], cwd=tmp_path)
    summary = json.loads(a.stdout.strip().splitlines()[-1])
    assert summary["seed"] == 3 and summary["vocab_size"] > 300
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")
