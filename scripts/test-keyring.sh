#!/bin/sh
# The vault's keyring test against a real Secret Service: gnome-keyring in a private D-Bus
# session (installed by .ci/run). Skips with a message where those tools are absent.
set -eu
if ! command -v dbus-run-session >/dev/null 2>&1 || ! command -v gnome-keyring-daemon >/dev/null 2>&1; then
  echo "keyring test skipped: install gnome-keyring dbus-x11 (apt-get install -y gnome-keyring dbus-x11) to run it"
  exit 0
fi
exec dbus-run-session -- sh -c 'printf "pw\n" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; npx vitest run --config vitest.keyring.config.ts'
