#!/usr/bin/env bash
# Installs what building and testing Mailproof needs, skipping what is already there.
# Debian/Ubuntu; run as root or with sudo available. Safe to run again.
set -euo pipefail

need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v curl >/dev/null || need_apt+=(curl ca-certificates)
command -v unzip >/dev/null || need_apt+=(unzip)
command -v zip >/dev/null || need_apt+=(zip)
# The IMAP tests run a private Dovecot with a certificate made by openssl.
command -v openssl >/dev/null || need_apt+=(openssl)
[ -x /usr/sbin/dovecot ] || command -v dovecot >/dev/null || need_apt+=(dovecot-imapd)
# The desktop app: WebKitGTK to build it; Xvfb, WebKitWebDriver and a font to test it headless.
for pkg in libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libxdo-dev libssl-dev file \
  xvfb xauth webkit2gtk-driver fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || need_apt+=("$pkg")
done
# Vite 8 needs Node 20.19 or later; Debian 12 ships 18, so a newer one comes from npm below.
command -v npm >/dev/null || need_apt+=(nodejs npm)

if ((${#need_apt[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need_apt[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null; then
  echo "setup: installing the Rust toolchain (rustup)" >&2
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain 1.95 -c rustfmt,clippy
  export PATH="$HOME/.cargo/bin:$PATH"
fi

# Node: when the system's is older than 20.19, a current one from the npm registry (the `node`
# package), kept in ~/.local/node.
node_ok() { node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a==20&&b>=19)?0:1)' 2>/dev/null; }
[ -x "$HOME/.local/node/bin/node" ] && export PATH="$HOME/.local/node/bin:$PATH"
if ! node_ok; then
  echo "setup: installing Node 22 from the npm registry" >&2
  npm install --silent --prefix "$HOME/.local/node-pkg" node@22 >/dev/null
  mkdir -p "$HOME/.local/node/bin"
  ln -sf "$HOME/.local/node-pkg/node_modules/node/bin/node" "$HOME/.local/node/bin/node"
  export PATH="$HOME/.local/node/bin:$PATH"
fi

# tauri-driver: the WebDriver bridge the app's end-to-end tests talk to.
if ! command -v tauri-driver >/dev/null; then
  echo "setup: installing tauri-driver" >&2
  cargo install --locked tauri-driver --version '^2'
fi

# The front end's packages, exactly as locked; only when the lock file changed since.
if [ ! ui/node_modules/.package-lock.json -nt ui/package-lock.json ]; then
  (cd ui && npm ci --no-audit --no-fund)
fi
