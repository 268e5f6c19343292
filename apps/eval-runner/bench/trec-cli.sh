#!/bin/sh
# Peak memory and CPU of the whole `ssra-eval trec` process on 100k queries × 100 candidates (10M unique
# document ids; qrels 207 MB, run 315 MB), the workload trec_eval 10.0 was measured on (1.14 GB peak RSS).
# Files come from packages/evaluation/bench/gen-trec.ts (seeded); kept in BENCH_DIR between runs.
# Usage: pnpm bench (in apps/eval-runner, after pnpm build). Needs GNU time (/usr/bin/time; apt-get install time).
set -eu
cd "$(dirname "$0")/.."
DIR="${BENCH_DIR:-${TMPDIR:-/tmp}/ssra-trec-bench}"
QUERIES="${BENCH_QUERIES:-100000}"
if [ ! -s "$DIR/bench.run" ]; then
  ../../node_modules/.bin/tsx --conditions=@ssra/source ../../packages/evaluation/bench/gen-trec.ts "$DIR" "$QUERIES" 100 17
fi
[ -f dist/bin.js ] || { echo "build first: pnpm build" >&2; exit 1; }
ls -l "$DIR/bench.qrels" "$DIR/bench.run"
echo "load before: $(cat /proc/loadavg 2>/dev/null || uptime)"
/usr/bin/time -v node dist/bin.js trec --qrels "$DIR/bench.qrels" --run "$DIR/bench.run" -m ndcg@10 2>"$DIR/time.txt"
grep -E "User time|System time|Elapsed|Maximum resident" "$DIR/time.txt"
