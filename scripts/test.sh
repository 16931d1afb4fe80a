#!/usr/bin/env bash
# Installs what is missing, then runs every check and test: formatting, lints, unit and
# end-to-end tests of the engine, the command and the desktop app. Real-mail conformance tests
# run when MAILPROOF_CORPUS names the corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

if [ -z "${MAILPROOF_CORPUS:-}" ] && [ -d ../shared/corpus ]; then
  export MAILPROOF_CORPUS="$(cd ../shared/corpus && pwd)"
fi
# WebKit, the bundler and GTK write caches and settings under XDG folders: keep them here.
export XDG_CACHE_HOME="$PWD/target/xdg/cache" XDG_DATA_HOME="$PWD/target/xdg/data" \
  XDG_CONFIG_HOME="$PWD/target/xdg/config" GSETTINGS_BACKEND=memory
export TAURI_APP_PATH=src-tauri

# The app crate embeds ui/dist when it compiles, so the screens are built first.
echo "== ui: type check, unit tests, build"
(cd ui && npm run --silent check && npm test --silent && npm run --silent build)
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --exclude mailproof-app --exclude mailproof-app-e2e --locked
echo "== app: commands and IPC bindings"
cargo test -p mailproof-app --features custom-protocol --locked
echo "== app: end-to-end through WebDriver"
start=$SECONDS
ui/node_modules/.bin/tauri build --debug --no-bundle -- --locked
xvfb-run -a --server-args="-screen 0 1280x800x24" \
  cargo test -p mailproof-app-e2e --locked -- --ignored --test-threads=1
echo "app build and end-to-end tests: $((SECONDS - start)) s"
