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
