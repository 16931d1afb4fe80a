#!/usr/bin/env bash
# Installs what is missing, builds the Mailproof desktop app, and starts it. Safe to run again:
# it rebuilds only what changed. With arguments, runs the `mailproof` command instead.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
if [ $# -gt 0 ]; then
  cargo build --release --locked -p mailproof-cli
  exec target/release/mailproof "$@"
fi
export TAURI_APP_PATH=src-tauri
# The screens are built into the binary (release, no installer bundle).
ui/node_modules/.bin/tauri build --no-bundle -- --locked
exec target/release/mailproof-app
