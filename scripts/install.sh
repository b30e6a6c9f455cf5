#!/bin/sh
# Installs netop into .venv on Debian/Ubuntu; run from anywhere, by root or by a user.
# Debian's python3 makes venvs only with the python3-venv package: it is installed when
# `python3 -m venv` fails, with apt-get as root or through sudo otherwise (a root shell on
# a fresh machine may have no sudo).
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "install.sh: '$*' needs root, and there is no sudo: run it as root, then this again" >&2
    exit 2
  fi
}

if ! "$PYTHON" -m venv .venv >/dev/null 2>&1; then
  rm -rf .venv  # the half-made one
  echo "install.sh: installing python3-venv (Debian's venv module)" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
  "$PYTHON" -m venv .venv
fi
.venv/bin/pip install -q .
# The man page and shell completions, made from this netop's own flags, into the venv's
# share/ (man finds share/man beside a bin/ on PATH; README "Man page and completion").
share=.venv/share
mkdir -p "$share/man/man1" "$share/bash-completion/completions" "$share/zsh/site-functions" \
  "$share/fish/vendor_completions.d"
.venv/bin/netop manpage > "$share/man/man1/netop.1"
.venv/bin/netop completion bash > "$share/bash-completion/completions/netop"
.venv/bin/netop completion zsh > "$share/zsh/site-functions/_netop"
.venv/bin/netop completion fish > "$share/fish/vendor_completions.d/netop.fish"
