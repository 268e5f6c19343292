#!/usr/bin/env bash
# The real-model path, end to end, on tiny local models (random weights, a tokenizer trained on the bundled
# texts): every hand-off, file format and command a GPU team uses, run here on the CPU.
#
#   tiny models → `ssra run` hands off the score model → TRL/PEFT SFT (its kit) → `transformers serve`
#   → Stage 1 with the served judge → query model v1 SFT under torchrun (2 processes, gloo) → served
#   → Stage 2 (score gate + LLM pairwise judge against the served model) → query model v2 SFT → served
#   → synthesis → embedding launch kit under torchrun (2 processes) → encode.py → ssra-eval (exact metrics,
#   paired bootstrap CI) → sentence-transformers (weighted loss) and FlagEmbedding exports → REHEARSAL.md
#
# The numbers are meaningless (random tiny models); what passes is that every step works and every trainer's
# loss falls on fixed batches. Every process it starts is stopped on success, failure and Ctrl-C.
# Usage: bash scripts/rehearse.sh [WORK_DIR]   (default runs/rehearsal; set REHEARSE_SKIP_SETUP=1 after setup)
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" PYTHONUNBUFFERED=1
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
work="$(mkdir -p "${1:-runs/rehearsal}" && cd "${1:-runs/rehearsal}" && pwd)"
started=$SECONDS

if [ "${REHEARSE_SKIP_SETUP:-}" != "1" ]; then bash scripts/setup.sh; fi
source scripts/bootstrap.sh
bash scripts/python-env.sh
py="$root/.venv-python/bin/python"
export PATH="$root/.venv-python/bin:$PATH"
# the served models' hub cache: `transformers serve` lists it on /v1/models and fails when it is missing
export HF_HOME="$work/hf-home" HF_HUB_CACHE="$work/hf-home/hub"
mkdir -p "$HF_HUB_CACHE"
ssra() { node "$root/apps/cli/dist/bin.js" "$@"; }
ssra_eval() { node "$root/apps/eval-runner/dist/bin.js" "$@"; }

# --- every process this script starts runs in its own process group and is stopped on any exit ------------------
# (the servers are started inside $(...) subshells, so their pids go through a file, not a shell variable)
pidfile="$work/.pids"
: >"$pidfile"
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pids
  pids="$(cat "$pidfile" 2>/dev/null || true)"
  for pid in $pids; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in $pids; do
    for _ in $(seq 1 50); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  rm -f "$pidfile"
  if [ "$status" -ne 0 ]; then echo "rehearsal: FAILED (exit $status) after $((SECONDS - started)) s; logs in $work/logs" >&2; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Runs "$@" to its end in its own process group (so a Ctrl-C or a kill of this script stops it and its children,
# torchrun's workers included), output to LOG; returns its exit status.
run_logged() {
  local log="$1"; shift
  setsid "$@" >"$log" 2>&1 &
  local pid=$!
  echo "$pid" >>"$pidfile"
  wait "$pid"
}
# Starts "$@" in the background in a new session (its own process group), remembered for cleanup; prints its pid.
start_bg() {
  local log="$1"; shift
  setsid "$@" >"$log" 2>&1 &
  echo "$!" >>"$pidfile"
  echo "$!"
}

mkdir -p "$work/logs"
step() { echo "rehearsal [$((SECONDS - started)) s] $*"; }
fail() { echo "rehearsal: $*" >&2; exit 1; }
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json() { node -e 'const v=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); const f=new Function("v","return ("+process.argv[2]+")"); const r=f(v); console.log(typeof r==="string"?r:JSON.stringify(r))' "$1" "$2"; }

# Asserts a trainer's metrics.json shows the loss falling on its fixed batches.
loss_falls() {
  local metrics="$1" what="$2"
  [ -f "$metrics" ] || fail "$what wrote no $metrics"
  node -e '
    const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
    const [b, a] = [m.fixed_batch_loss_before, m.fixed_batch_loss_after]
    if (!(Number.isFinite(b) && Number.isFinite(a) && a < b)) { console.error(`${process.argv[2]}: loss on fixed batches ${b} -> ${a} did not fall`); process.exit(1) }
    console.log(`  ${process.argv[2]}: loss on fixed batches ${b.toFixed(4)} -> ${a.toFixed(4)} (${m.steps} steps, world size ${m.world_size ?? 1})`)
  ' "$metrics" "$what" | tee -a "$work/losses.txt"
}

# Serves a kit's merged model with its own serve.sh on a free port; prints "URL#MODEL" once it answers.
serve() {
  local kit="$1" name="$2" port
  port="$(free_port)"
  local pid
  pid="$(cd "$kit" && export PORT="$port" && start_bg "$work/logs/serve-$name.log" ./serve.sh)"
  local model
  model="$(json "$kit/sft_config.json" 'v.served_model_name')"
  for _ in $(seq 1 240); do
    if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
      echo "http://127.0.0.1:$port/v1#$model"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$work/logs/serve-$name.log" >&2; fail "the $name server exited"; }
    sleep 0.5
  done
  fail "the $name server did not answer /health within 120 s (log: $work/logs/serve-$name.log)"
}

# Runs `ssra run`, expecting the hand-off exit code 8 (or 0 at the end); prints the awaiting kit's directory.
run_until_handoff() {
  local expected="$1" log="$2"; shift 2
  local code=0
  run_logged "$work/logs/$log.log" node "$root/apps/cli/dist/bin.js" run --config "$work/ssra.json" "$@" || code=$?
  if [ "$code" -ne "$expected" ]; then
    tail -40 "$work/logs/$log.log" >&2
    fail "ssra run exited $code, expected $expected (log: $work/logs/$log.log)"
  fi
}
awaiting_kit() { json "$work/run/manifest.json" 'v.handoffs.find((h) => h.status === "awaiting").kit'; }

# Trains an SFT kit (TRL + PEFT LoRA, merged for serving) on the tiny causal LM.
sft() {
  local kit="$1" name="$2" nproc="$3" steps="$4"
  step "SFT $name: $(wc -l <"$kit/train.jsonl") chat rows, $steps steps, $nproc process(es) (launch.sh)"
  (cd "$kit" && export NPROC="$nproc" && run_logged "$work/logs/sft-$name.log" ./launch.sh --max-steps "$steps" --learning-rate "$sft_lr") ||
    { tail -30 "$work/logs/sft-$name.log" >&2; fail "SFT of the $name failed"; }
  [ -f "$kit/output/merged/config.json" ] || fail "SFT of the $name left no merged model in $kit/output/merged"
  loss_falls "$kit/output/metrics.json" "SFT $name"
}

# a high learning rate: a LoRA on a random 2-layer model must learn the answer formats in a few dozen steps
sft_lr=1e-2
: >"$work/losses.txt"
step "work dir $work"
rm -rf "$work/run" "$work/exports"

# 1. tiny local models: a byte-level BPE tokenizer trained on the bundled texts, a 2-layer Qwen3 causal LM and
#    a 2-layer Qwen3 encoder, random weights
step "tiny models"
"$py" python/ssra_kits/tiny_models.py --texts data/kuake_qtr/labeled.jsonl --texts data/kuake_qtr/unlabeled.jsonl \
  --out "$work/tiny" --seed 0 --vocab-size 6000 --initializer-range 0.25 >"$work/logs/tiny-models.log" 2>&1 || { cat "$work/logs/tiny-models.log" >&2; fail "tiny models"; }

# 2. the run's config: every LLM part fine-tuned outside ssra; the pairwise judge is the served score model
cat >"$work/ssra.json" <<JSON
{
  "runDir": "$work/run",
  "seed": 11,
  "data": {
    "dir": "$root/data/kuake_qtr",
    "skipInvalid": true,
    "sample": { "labeledQueries": 120, "unlabeledRows": 120, "retrievalQueries": 20, "pairRows": 160 }
  },
  "backends": {
    "scoreModel": "fine-tuned",
    "queryModel": "fine-tuned",
    "external": { "baseModel": "$work/tiny/causal-lm" }
  },
  "queryModel": { "maxTrainingDocs": 40, "candidatesPerDoc": 4 },
  "stage2": { "documents": 10, "judge": "llm" },
  "synthesis": { "documents": 20, "gradePlan": { "1": 0, "2": 0, "3": 1 } },
  "training": { "dimensions": 32, "buckets": 4096, "epochs": 1, "batchSize": 32 },
  "evaluation": { "bootstrapSamples": 200 },
  "generation": { "chunkSize": 5 }
}
JSON

# 3. the run stops at the score model: its SFT kit
step "ssra run → hand-off: score model"
run_until_handoff 8 run-1
score_kit="$(awaiting_kit)"
sft "$score_kit" "score model" 1 60
score_endpoint="$(serve "$score_kit" score-model)"
step "score model served at ${score_endpoint%%#*}"

# 4. Stage 1 with the served judge; the run stops at query model v1 (trained with 2 processes: torchrun + gloo)
# (stage2.judge is "llm" and no backends.llm is set: the pairwise judge is the served score model)
judge_flags=(--score-model-endpoint "$score_endpoint")
step "ssra run → Stage 1 with the served score model → hand-off: query model v1"
run_until_handoff 8 run-2 "${judge_flags[@]}"
v1_kit="$(awaiting_kit)"
sft "$v1_kit" "query model v1" 2 40
v1_endpoint="$(serve "$v1_kit" query-model-v1)"

# 5. Stage 2 with v1, the score gate and the pairwise judge; the run stops at query model v2
step "ssra run → Stage 2 (score gate + pairwise judge) → hand-off: query model v2"
run_until_handoff 8 run-3 "${judge_flags[@]}" --query-model-v1-endpoint "$v1_endpoint"
v2_kit="$(awaiting_kit)"
sft "$v2_kit" "query model v2" 1 40
v2_endpoint="$(serve "$v2_kit" query-model-v2)"

# 6. synthesis with v2 and the rest of the loop (embedded embedding model, exact evaluation, report)
step "ssra run → synthesis with v2 → training → evaluation → report"
run_until_handoff 0 run-4 "${judge_flags[@]}" --query-model-v1-endpoint "$v1_endpoint" --query-model-v2-endpoint "$v2_endpoint"
[ "$(json "$work/run/manifest.json" 'v.status')" = "complete" ] || fail "the run's manifest is not complete"

# 7. the GPU embedding trainer's kit under torchrun (2 processes, gloo), encode, exact metrics
step "embedding launch kit (torchrun, 2 processes)"
mkdir -p "$work/exports"
ssra export --run "$work/run" --format launch-kit --out "$work/exports/embedding-kit" --model "$work/tiny/embedding" >"$work/logs/export-kit.log" 2>&1 ||
  { cat "$work/logs/export-kit.log" >&2; fail "export launch-kit"; }
kit="$work/exports/embedding-kit"
# what a team edits for its hardware: batch and lengths (config.json is the kit's one settings file)
node -e '
  const fs = require("fs"), f = process.argv[1], c = JSON.parse(fs.readFileSync(f, "utf8"))
  Object.assign(c, { global_batch_size: 16, learning_rate: 2e-3, max_query_length: 128, max_document_length: 64, matryoshka_dims: [16, 32, 64], gradient_checkpointing: false, warmup_ratio: 0 })
  fs.writeFileSync(f, JSON.stringify(c, null, 2) + "\n")
' "$kit/config.json"
(cd "$kit" && export NPROC=2 && run_logged "$work/logs/embedding-kit.log" ./launch.sh --max-steps 30) ||
  { tail -30 "$work/logs/embedding-kit.log" >&2; fail "the embedding launch kit failed"; }
loss_falls "$kit/output/metrics.json" "embedding launch kit (torchrun x2)"
prepared="$(ls -d "$work"/run/artifacts/prepare-* | head -1)"
qrels="$work/exports/retrieval_qrels.trec"
node -e '
  const fs = require("fs")
  const rows = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l))
  fs.writeFileSync(process.argv[2], rows.map((r) => `${r.qid} 0 ${r.did} ${r.label}`).join("\n") + "\n")
' "$prepared/retrieval_test.jsonl" "$qrels"
# (a) files: a TREC run and scored pairs, read by `ssra-eval trec` / `ssra-eval pairs`
run_logged "$work/logs/encode.log" "$py" "$kit/encode.py" --model "$work/tiny/embedding" --adapter "$kit/output" \
  --config "$kit/config.json" --retrieval-test "$prepared/retrieval_test.jsonl" --pair-test "$prepared/pair_test.jsonl" \
  --out "$work/exports/encoded" || { cat "$work/logs/encode.log" >&2; fail "encode.py"; }
ssra_eval trec --qrels "$qrels" --run "$work/exports/encoded/run.trec" -m ndcg@10 --json >"$work/exports/ndcg.json"
ssra_eval pairs --input "$work/exports/encoded/pairs.jsonl" --json >"$work/exports/ap.json"
# (b) an OpenAI-compatible /v1/embeddings endpoint (what vLLM serves on a GPU), scored by an eval suite with paired
#     bootstrap CIs against the untrained encoder
endpoint_of() {
  local name="$1" port; shift
  port="$(free_port)"
  local pid
  pid="$(cd "$kit" && start_bg "$work/logs/embeddings-$name.log" "$py" encode.py serve --model "$work/tiny/embedding" \
    --config config.json --port "$port" "$@")"
  for _ in $(seq 1 240); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && { echo "http://127.0.0.1:$port/v1"; return 0; }
    kill -0 "$pid" 2>/dev/null || { cat "$work/logs/embeddings-$name.log" >&2; fail "the $name embeddings server exited"; }
    sleep 0.5
  done
  fail "the $name embeddings server did not start"
}
untrained_url="$(endpoint_of untrained)"
trained_url="$(endpoint_of trained --adapter output)"
instruction="$(json "$kit/config.json" 'v.query_instruction')"
node -e '
  const [file, prepared, qrels, untrained, trained, instruction, out] = process.argv.slice(1)
  const q = (s) => JSON.stringify(s)
  require("fs").writeFileSync(file, [
    "name: rehearsal", "title: \"Rehearsal: the launch-kit encoder (tiny random model) vs untrained\"", `output: ${q(out)}`,
    "preset: ssra", "seed: 0", "datasets:", "  - name: kuake_qtr-sample",
    `    retrieval: ${q(prepared + "/retrieval_test.jsonl")}`, `    pairs: ${q(prepared + "/pair_test.jsonl")}`,
    `    qrels: ${q(qrels)}`, "    grades: 3", "systems:",
    `  - { name: untrained, kind: remote, baseUrl: ${q(untrained)}, model: tiny, queryInstruction: ${q(instruction)} }`,
    `  - { name: launch-kit, kind: remote, baseUrl: ${q(trained)}, model: tiny, queryInstruction: ${q(instruction)} }`,
    "  - { name: bm25, kind: bm25 }", "bootstrap:", "  resamples: 1000", "  permutations: 2000", ""
  ].join("\n"))
' "$work/exports/suite.yaml" "$prepared" "$qrels" "$untrained_url" "$trained_url" "$instruction" "$work/exports/eval"
run_logged "$work/logs/eval-suite.log" node "$root/apps/eval-runner/dist/bin.js" run "$work/exports/suite.yaml" || { tail -30 "$work/logs/eval-suite.log" >&2; fail "ssra-eval run"; }

# 8. sentence-transformers with the grade-weighted loss; FlagEmbedding rows against its documented schema
step "sentence-transformers (grade-weighted MNRL) and FlagEmbedding exports"
ssra export --run "$work/run" --format sentence-transformers --out "$work/exports/st.jsonl" >"$work/logs/export-st.log" 2>&1
run_logged "$work/logs/st.log" "$py" python/ssra_kits/train_sentence_transformers.py --model "$work/tiny/embedding" \
  --train-file "$work/exports/st.jsonl" --output-dir "$work/exports/st-model" --max-steps 30 --batch-size 16 \
  --learning-rate 2e-3 --seed 1 || { tail -30 "$work/logs/st.log" >&2; fail "sentence-transformers training"; }
loss_falls "$work/exports/st-model/metrics.json" "sentence-transformers, weighted MNRL"
ssra export --run "$work/run" --format flag-embedding --out "$work/exports/flag.jsonl" >"$work/logs/export-flag.log" 2>&1
"$py" python/ssra_kits/flag_embedding.py validate "$work/exports/flag.jsonl" >"$work/logs/flag-validate.log" 2>&1 ||
  { cat "$work/logs/flag-validate.log" >&2; fail "FlagEmbedding rows do not validate"; }

# 9. the report
node - "$work" <<'NODE' >"$work/REHEARSAL.md"
const fs = require("fs"), path = require("path")
const work = process.argv[2]
const read = (f) => JSON.parse(fs.readFileSync(path.join(work, f), "utf8"))
const manifest = read("run/manifest.json")
const ndcg = read("exports/ndcg.json"), ap = read("exports/ap.json")
const lines = [
  "# Rehearsal of the real-model path (tiny random models)",
  "",
  "Every number here comes from **random-weight 2-layer models**: it is meaningless as quality. What this",
  "report proves is that every hand-off, format and command a GPU team uses ran end to end on this machine.",
  "",
  "## Hand-offs (from the run's manifest)",
  "",
  "| model | kit | SFT rows | status | endpoint |",
  "|---|---|---|---|---|",
  ...manifest.handoffs.map((h) => `| ${h.model} | ${path.relative(work, h.kit)} | ${h.rows} | ${h.status} | ${h.endpoint ?? ""} |`),
  "",
  "## Losses on fixed batches (before → after training)",
  "",
  "```",
  fs.readFileSync(path.join(work, "losses.txt"), "utf8").trimEnd(),
  "```",
  "",
  "## The launch-kit encoder, scored by ssra's exact evaluators",
  "",
  "From encode.py's files (`ssra-eval trec` and `ssra-eval pairs`):",
  "",
  "```json",
  JSON.stringify({ ndcg, ap }, null, 2),
  "```",
  "",
  "From encode.py's embeddings endpoint, through an eval suite (paired bootstrap CIs vs the untrained encoder):",
  "",
  fs.readFileSync(path.join(work, "exports/eval/summary.md"), "utf8").trim(),
  "",
  `The pipeline's own report: ${path.join(work, "run/report/report.md")}`,
]
console.log(lines.join("\n"))
NODE

step "done in $((SECONDS - started)) s"
cat <<EOF
rehearsal: every step passed (numbers meaningless: random tiny models)
  tiny models        $work/tiny
  run (manifest)     $work/run/manifest.json
  run report         $work/run/report/report.md
  SFT kits           $score_kit
                     $v1_kit
                     $v2_kit
  embedding kit      $kit (adapter in output/)
  encoded test sets  $work/exports/encoded (run.trec, pairs.jsonl)
  eval suite report  $work/exports/eval/summary.md (report.html)
  exports            $work/exports/{st.jsonl,flag.jsonl}
  rehearsal report   $work/REHEARSAL.md
  logs               $work/logs
EOF
