#!/usr/bin/env bash
# Installs what is missing, then runs every check and test: formatting, lints, unit and
# end-to-end tests. Real-mail conformance tests run when MAILPROOF_CORPUS names the corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

if [ -z "${MAILPROOF_CORPUS:-}" ] && [ -d ../shared/corpus ]; then
  export MAILPROOF_CORPUS="$(cd ../shared/corpus && pwd)"
fi

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
