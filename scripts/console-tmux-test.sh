#!/usr/bin/env bash
# Drives the real console in a real terminal: starts `scimdesk` on the embedded default in an
# 80x24 tmux pane, sends keys, and reads the screen back with capture-pane.
# SCIMDESK_BIN picks the binary (default: target/debug/scimdesk, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v tmux >/dev/null 2>&1; then
  echo "tmux is missing: apt-get install -y tmux" >&2
  exit 2
fi
BIN="${SCIMDESK_BIN:-$PWD/target/debug/scimdesk}"
[ -x "$BIN" ] || cargo build --quiet
WORK="$(mktemp -d)"
SESSION="scimdesk-tmux-$$"
cleanup() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

screen() { tmux capture-pane -p -t "$SESSION" 2>/dev/null || true; }

# Polls the screen until it shows $1 (a fixed string), for up to $2 seconds.
wait_for() {
  local want="$1" limit="${2:-20}" i=0
  while [ "$i" -lt $((limit * 10)) ]; do
    if screen | grep -qF -- "$want"; then return 0; fi
    sleep 0.1
    i=$((i + 1))
  done
  echo "FAIL: the screen never showed '$want'. Screen:" >&2
  screen >&2
  echo "--- console log:" >&2
  cat "$WORK/data/console.log" 2>/dev/null | tail -20 >&2 || true
  exit 1
}

tmux new-session -d -s "$SESSION" -x 80 -y 24 \
  "env SCIMDESK_DATA_DIR='$WORK/data' SCIMDESK_CONFIG_DIR='$WORK/config' TERM=xterm-256color '$BIN'; echo EXITED=\$?; sleep 30"

wait_for "● online"
wait_for "Acme"
echo "ok: the console connected to the embedded server"

tmux send-keys -t "$SESSION" 1
wait_for "SCIM settings"
wait_for "SCIM tokens"
echo "ok: SCIM pane"

tmux send-keys -t "$SESSION" '?'
wait_for "Keys (any key closes)"
tmux send-keys -t "$SESSION" Escape
echo "ok: help overlay"

tmux send-keys -t "$SESSION" 2
wait_for "[2 Users]"
tmux send-keys -t "$SESSION" 3
wait_for "[3 Group Mapping]"
echo "ok: panes switch"

wait_for "SCIM groups (4)"
tmux send-keys -t "$SESSION" Enter
wait_for "Edit mapping"
tmux send-keys -t "$SESSION" Enter
wait_for "Org role for"
tmux send-keys -t "$SESSION" m e m b e r Enter
wait_for "lowers org role to Member"
tmux send-keys -t "$SESSION" Escape
wait_for "Discard unsaved edits?"
tmux send-keys -t "$SESSION" Tab Enter
wait_for "SCIM groups (4)"
echo "ok: mapping editor, its preview and the unsaved-edits question"

tmux send-keys -t "$SESSION" ':' 's' 'c' 'i' 'm' Enter
wait_for "[1 SCIM]"
echo "ok: command line"

tmux send-keys -t "$SESSION" q
wait_for "EXITED=0"
echo "ok: q quits cleanly and restores the terminal"

# review NEW --against OLD on the committed fixture and a copy where deprovisioning waits
# for approval: the badge counts one change, D lists it, Esc closes, q quits.
tmux kill-session -t "$SESSION" 2>/dev/null || true
sed 's/"deprovision": false/"deprovision": true/' tests/fixtures/snapshot-v1.json >"$WORK/new.json"
tmux new-session -d -s "$SESSION" -x 80 -y 24 \
  "env SCIMDESK_DATA_DIR='$WORK/data' SCIMDESK_CONFIG_DIR='$WORK/config' TERM=xterm-256color '$BIN' review '$WORK/new.json' --against tests/fixtures/snapshot-v1.json; echo EXITED=\$?; sleep 30"
wait_for "READ-ONLY"
wait_for "Δ 1 change vs snapshot-v1.json"
tmux send-keys -t "$SESSION" D
wait_for "approval.deprovision  false → true"
tmux send-keys -t "$SESSION" Escape
tmux send-keys -t "$SESSION" 1
wait_for "(was off)"
tmux send-keys -t "$SESSION" q
wait_for "EXITED=0"
echo "ok: review --against marks the change"
echo "PASS: console tmux test"
