"""Tiny local models for rehearsals and tests: no network, seconds on a CPU.

    python tiny_models.py --texts FILE.jsonl [--texts FILE2.jsonl ...] --out DIR [--seed 0] [--vocab-size 2000]
        [--initializer-range 0.02]

Reads the `query` / `doc` fields (and the `content` of chat `messages`, and `anchor` / `positive` /
`negative_*`) of JSONL rows, trains a byte-level BPE tokenizer on them with the `tokenizers` library (Qwen2's
pre-tokenizer: every digit is its own token, so `{"grade": 2}` ends in the tokens `2`, `}`), and writes:

- `DIR/tokenizer/`  the tokenizer (`PreTrainedTokenizerFast`): special tokens `<|endoftext|>` (pad),
  `<|im_start|>`, `<|im_end|>` (eos), and a Qwen-style chat template with `{% generation %}` markers around the
  assistant turns (TRL's `assistant_only_loss=True` needs them) and an `add_generation_prompt` branch;
- `DIR/causal-lm/`  a tiny `Qwen3ForCausalLM` (2 layers, hidden 64, 4 heads, 2 kv heads, intermediate 128,
  tied embeddings) with random weights, its generation config and the tokenizer;
- `DIR/embedding/`  a tiny `Qwen3Model` of the same shape with the tokenizer.

`--initializer-range` sets the weights' init std (transformers' default 0.02). With tied embeddings a 2-layer
model's logits are bounded by |hidden| x |embedding row| (about 8 x 0.16 at 0.02), so its next-token
distribution stays near uniform however a LoRA moves it: a LoRA-SFT'd tiny model then writes the answer format
but nothing sampled inside it. A larger range (0.2-0.3) lets the rehearsal's LoRA SFT make the tiny LM answer
`{"queries": ["<text>"]}` with text in it.

Each loads with `AutoModelForCausalLM` / `AutoModel` / `AutoTokenizer.from_pretrained(dir)`. The same texts and
`--seed` give the same files. Prints a JSON summary on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile

# Qwen2's pre-tokenizer split (digits one by one, letters with one leading non-letter, punctuation runs)
SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
PAD = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = [PAD, IM_START, IM_END]

CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- generation -%}{{- message['content'] + '<|im_end|>' -}}{%- endgeneration -%}"
    "{{- '\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)

# The answer formats of the project's score / query / judge models: trained in so that they tokenize into few,
# stable pieces.
FORMAT_TEXTS = (
    [f'{{"grade": {g}}}' for g in range(4)]
    + ['{"queries": ["', '"]}', '", "', '{"better": "A"}', '{"better": "B"}']
    + [f"{IM_START}{role}\n" for role in ("system", "user", "assistant")]
)


def read_texts(paths: list[str]) -> list[str]:
    texts: list[str] = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise SystemExit(f"{path}:{line_no}: not JSON: {error}") from error
                for key, value in row.items():
                    if key in ("query", "doc", "anchor", "positive") or key.startswith("negative_"):
                        if isinstance(value, str) and value:
                            texts.append(value)
                for message in row.get("messages") or []:
                    content = message.get("content") if isinstance(message, dict) else None
                    if isinstance(content, str) and content:
                        texts.append(content)
    return texts


def build_tokenizer(texts: list[str], vocab_size: int):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    corpus = list(texts) + [t for t in FORMAT_TEXTS for _ in range(50)]
    tok.train_from_iterator(corpus, trainer=trainer, length=len(corpus))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=IM_END,
        pad_token=PAD,
        additional_special_tokens=[IM_START],
        model_max_length=1024,
        clean_up_tokenization_spaces=False,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build(texts: list[str], out: str, seed: int = 0, vocab_size: int = 2000, initializer_range: float = 0.02) -> dict:
    """Builds the three directories under `out` (replacing them); returns the summary."""
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM, Qwen3Model

    if not texts:
        raise SystemExit("no texts: give JSONL files with query/doc fields or chat messages")
    random.seed(seed)
    torch.manual_seed(seed)
    tokenizer = build_tokenizer(texts, vocab_size)
    pad_id = tokenizer.convert_tokens_to_ids(PAD)
    eos_id = tokenizer.convert_tokens_to_ids(IM_END)

    def config() -> Qwen3Config:
        return Qwen3Config(
            vocab_size=len(tokenizer),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=16,
            max_position_embeddings=1024,
            tie_word_embeddings=True,
            eos_token_id=eos_id,
            pad_token_id=pad_id,
            bos_token_id=None,
            initializer_range=initializer_range,
        )

    os.makedirs(out, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".tiny-", dir=out)
    try:
        tokenizer.save_pretrained(os.path.join(staging, "tokenizer"))

        torch.manual_seed(seed)
        lm = Qwen3ForCausalLM(config())
        # sampling on by default, as Qwen3's own generation_config.json has it: a server then samples at the request's
        # temperature (transformers serve keeps do_sample off unless the model's config turns it on) and decodes
        # greedily at temperature 0
        lm.generation_config = GenerationConfig(
            eos_token_id=eos_id, pad_token_id=pad_id, do_sample=True, temperature=0.7, top_p=0.8, top_k=20
        )
        lm.save_pretrained(os.path.join(staging, "causal-lm"))
        tokenizer.save_pretrained(os.path.join(staging, "causal-lm"))

        torch.manual_seed(seed + 1)
        emb = Qwen3Model(config())
        emb.save_pretrained(os.path.join(staging, "embedding"))
        tokenizer.save_pretrained(os.path.join(staging, "embedding"))

        for name in ("tokenizer", "causal-lm", "embedding"):
            target = os.path.join(out, name)
            if os.path.exists(target):
                shutil.rmtree(target)
            os.replace(os.path.join(staging, name), target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    return {
        "out": os.path.abspath(out),
        "texts": len(texts),
        "vocab_size": len(tokenizer),
        "pad_token_id": pad_id,
        "eos_token_id": eos_id,
        "parameters": {
            "causal-lm": sum(p.numel() for p in lm.parameters()),
            "embedding": sum(p.numel() for p in emb.parameters()),
        },
        "dirs": {name: os.path.join(os.path.abspath(out), name) for name in ("tokenizer", "causal-lm", "embedding")},
        "seed": seed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", action="append", required=True, help="JSONL file (repeatable)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vocab-size", type=int, default=2000)
    parser.add_argument("--initializer-range", type=float, default=0.02, help="init std of the weights")
    args = parser.parse_args(argv)
    summary = build(
        read_texts(args.texts),
        args.out,
        seed=args.seed,
        vocab_size=args.vocab_size,
        initializer_range=args.initializer_range,
    )
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
