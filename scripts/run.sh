#!/usr/bin/env bash
# Installs what is missing, builds Mailproof, and starts it. Until the desktop app lands this
# builds the `mailproof` command and shows its help; arguments are passed to it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --locked -p mailproof-cli
if [ $# -eq 0 ]; then
  exec target/release/mailproof --help
fi
exec target/release/mailproof "$@"
