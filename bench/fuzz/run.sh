#!/usr/bin/env bash
# Runs every fuzz target for a fixed time and keeps what breaks.
#
#   bench/fuzz/run.sh                    # every target, 10 minutes each
#   MINUTES=1 bench/fuzz/run.sh mbox     # one target, one minute
#   JOBS=2 bench/fuzz/run.sh             # two targets at a time
#   SECONDS_EACH=20 bench/fuzz/run.sh    # a quick smoke run
#
# Needs cargo-fuzz (installed here when missing). Builds with `--sanitizer none`, which works
# on the stable toolchain; Rust code is memory-safe, the targets look for panics, failed
# assertions, hangs and runaway memory. Seeds come from the shared corpus (files under 64 KiB),
# a sample of earlier runs' corpora (`bench/fuzz/seeds/<target>/`) and the inputs that once
# broke a target (`bench/fuzz/regressions/<target>/`); the test suite replays both
# (`cargo test --test fuzz_regressions`). Working corpora and
# logs go to $DATA (default /tmp/mailproof-fuzz), never into the repository. A new crashing
# input is copied into regressions/ and the script exits 1.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
DATA="${DATA:-/tmp/mailproof-fuzz}"
MINUTES="${MINUTES:-10}"
JOBS="${JOBS:-1}"
CORPUS="${MAILPROOF_CORPUS:-$root/../shared/corpus}"
targets=("$@")
((${#targets[@]})) || targets=(mbox maildir emlx receipt archive identity)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo fuzz build -s none --fuzz-dir "$here" || exit 2
bin_dir="$here/target/x86_64-unknown-linux-gnu/release"

# What each target is seeded with, from the shared corpus.
seeds() {
  local target=$1 out=$2
  case $target in
    mbox) patterns=(-name '*.mbox' -o -name '*mbox*' -o -name '*.txt') ;;
    maildir | identity) patterns=(-name '*.eml' -o -name '*,*' -o -name '*.msg' -o -name '*.txt') ;;
    emlx) patterns=(-name '*.emlx') ;;
    receipt | archive) patterns=(-name '*.none') ;;
  esac
  if [ -d "$CORPUS" ]; then
    find "$CORPUS" -type f -size -64k \( "${patterns[@]}" \) -exec cp -t "$out" {} + 2>/dev/null
  fi
  for saved in regressions seeds; do
    if [ -d "$here/$saved/$target" ]; then cp -t "$out" "$here/$saved/$target"/* 2>/dev/null; fi
  done
  # Receipts and archives are best seeded with real ones from a tiny export.
  if [[ $target == receipt || $target == archive ]] && [ -d "$CORPUS/maildir-notmuch" ]; then
    local mp="$root/target/release/mailproof"
    [ -x "$mp" ] || cargo build --release -q -p mailproof-cli --manifest-path "$root/Cargo.toml"
    local tmp
    tmp=$(mktemp -d)
    "$mp" export "maildir:$CORPUS/maildir-notmuch" -o "$tmp/a.zip" >/dev/null 2>&1
    "$mp" receipt "maildir:$CORPUS/maildir-notmuch" -o "$tmp/r.receipt" >/dev/null 2>&1
    if [ "$target" = archive ]; then
      cp "$tmp/a.zip" "$out/"
    else
      cp "$tmp/r.receipt" "$out/"
    fi
    rm -rf "$tmp"
  fi
}

run_one() {
  local target=$1
  local work="$DATA/$target"
  mkdir -p "$work/corpus" "$work/artifacts"
  seeds "$target" "$work/corpus"
  local seconds=${SECONDS_EACH:-$((MINUTES * 60))}
  echo "fuzz: $target for ${seconds} s" >&2
  "$bin_dir/$target" "$work/corpus" -artifact_prefix="$work/artifacts/" \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=20 \
    -print_final_stats=1 >"$work/log" 2>&1
  local status=$?
  local runs
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$' | tail -1)
  local crashes=0
  for f in "$work"/artifacts/*; do
    [ -e "$f" ] || continue
    mkdir -p "$here/regressions/$target"
    cp "$f" "$here/regressions/$target/"
    crashes=$((crashes + 1))
  done
  printf '%-9s %5ss  %12s executions  exit %s  %s new crashing input(s)\n' \
    "$target" "$seconds" "${runs:-?}" "$status" "$crashes" | tee -a "$DATA/summary.txt"
  [ "$crashes" -eq 0 ]
}

mkdir -p "$DATA"
failed=0
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if ((running >= JOBS)); then
    wait -n || failed=1
    running=$((running - 1))
  fi
done
while ((running > 0)); do
  wait -n || failed=1
  running=$((running - 1))
done
exit $failed
