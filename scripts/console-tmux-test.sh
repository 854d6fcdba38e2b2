#!/usr/bin/env bash
# Drives the real console in a real terminal: starts `scimdesk` on the embedded default in an
# 80x24 tmux pane, sends keys, and reads the screen back with capture-pane: the panes, help,
# the command line, an approval from the pending queue (the header's count drops by one), the
# Audit pane (an event whole, a filter, H on a member), the state filter, :stack and :role,
# :messages, the mapping editor opened and left, then q, and the terminal restored; --mouse clicks and wheel.
# SCIMDESK_BIN picks the binary (default: target/debug/scimdesk, built if missing).
# Every wait polls with a timeout; the whole run stops after SCIMDESK_TMUX_DEADLINE seconds
# (120).
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

# The whole run stays bounded: every wait also stops at this many seconds since the start.
DEADLINE="${SCIMDESK_TMUX_DEADLINE:-120}"

fail() {
  echo "FAIL: $*. Screen:" >&2
  screen >&2
  echo "--- console log:" >&2
  tail -20 "$WORK/data/console.log" >&2 2>/dev/null || true
  exit 1
}

# Polls until the screen shows $1 (a fixed string), for up to $2 seconds.
wait_for() {
  local want="$1" limit="${2:-20}" i=0
  while [ "$i" -lt $((limit * 10)) ] && [ "$SECONDS" -lt "$DEADLINE" ]; do
    if screen | grep -qF -- "$want"; then return 0; fi
    sleep 0.1
    i=$((i + 1))
  done
  fail "the screen never showed '$want'"
}

# Polls until the screen no longer shows $1 (a fixed string), for up to $2 seconds.
wait_gone() {
  local gone="$1" limit="${2:-20}" i=0
  while [ "$i" -lt $((limit * 10)) ] && [ "$SECONDS" -lt "$DEADLINE" ]; do
    if ! screen | grep -qF -- "$gone"; then return 0; fi
    sleep 0.1
    i=$((i + 1))
  done
  fail "the screen still showed '$gone'"
}

# The header's pending-approval count (the N of "⧖ N pending"), empty when not shown.
pending_count() {
  screen | head -1 | grep -oE '⧖ [0-9]+ pending' | grep -oE '[0-9]+' || true
}

# A tmux format of the pane (alternate_on, cursor_flag, …).
pane_flag() { tmux display -p -t "$SESSION" "#{$1}"; }

tmux new-session -d -s "$SESSION" -x 80 -y 24 \
  "env SCIMDESK_DATA_DIR='$WORK/data' SCIMDESK_CONFIG_DIR='$WORK/config' TERM=xterm-256color '$BIN'; echo EXITED=\$?; sleep 30"

wait_for "● online"
wait_for "Acme"
echo "ok: the console connected to the embedded server"

tmux send-keys -t "$SESSION" 1
wait_for "SCIM settings"
wait_for "SCIM tokens"
echo "ok: SCIM pane"

# Issue 24, item 1: the Users pane's p and s flip nothing here; the settings dialog (e) asks
# before an approval rule goes off, on Cancel, and Cancel keeps it on.
tmux send-keys -t "$SESSION" p s
sleep 0.3
screen | grep -F "Approve new members" | grep -qF "[x] on" || fail "p or s changed a setting"
tmux send-keys -t "$SESSION" e
wait_for "What widens access or stops a review asks first."
tmux send-keys -t "$SESSION" j j Enter
wait_for "Stop approving new members?"
wait_for "From now on a member the IdP creates"
screen | grep -qF "▸[ Cancel ]" || fail "the question does not start on Cancel"
tmux send-keys -t "$SESSION" Enter
wait_gone "Stop approving new members?"
tmux send-keys -t "$SESSION" Escape
wait_gone "What widens access"
screen | grep -F "Approve new members" | grep -qF "[x] on" || fail "Cancel turned approval off"
echo "ok: settings ask before widening access, starting on Cancel"

tmux send-keys -t "$SESSION" '?'
wait_for "Keys 1-"
# j scrolls instead of closing; / searches every pane's keys.
tmux send-keys -t "$SESSION" j
wait_for "Keys 2-"
tmux send-keys -t "$SESSION" / a p p r o v e Enter
wait_for "/approve"
wait_for "Approve the selected request"
tmux send-keys -t "$SESSION" Escape
wait_gone "/approve"
tmux send-keys -t "$SESSION" Escape
wait_gone "Keys 1-"
echo "ok: help overlay scrolls, searches, Esc closes"

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

# The approval queue: approve the selected request and watch the header's count follow.
tmux send-keys -t "$SESSION" 2
wait_for "[2 Users]"
tmux send-keys -t "$SESSION" p
wait_for "▸Pending ("
# The Request panel shows the selected request's diff once the queue has loaded.
wait_for "Diff (granted → requested):"
N="$(pending_count)"
[ -n "$N" ] || fail "the header shows no pending count"
[ "$N" -ge 1 ] || fail "the demo org has no pending request to approve (⧖ $N)"
wait_for "Pending ($N)"
# The Request panel's first line: "EMAIL · KIND" of the selected request.
EMAIL="$(screen | sed -n 's/^│\([^ ]*@[^ ]*\) · .*/\1/p' | head -1)"
[ -n "$EMAIL" ] || fail "no selected request in the Request panel"
tmux send-keys -t "$SESSION" a
wait_for "approved: $EMAIL"
wait_for "⧖ $((N - 1)) pending"
wait_for "Pending ($((N - 1)))"
wait_gone "│$EMAIL · "
echo "ok: approved $EMAIL; the header went from ⧖ $N to ⧖ $((N - 1)) pending"

# The Audit pane: the approval just made is among the newest events; Enter shows an event
# whole and Esc goes back; the filter narrows by action; H on a member opens its history.
tmux send-keys -t "$SESSION" 4
wait_for "[4 Audit]"
wait_for "approval.approved"
tmux send-keys -t "$SESSION" Enter
wait_for "Event · j/k scroll"
tmux send-keys -t "$SESSION" Escape
wait_gone "Event · j/k scroll"
tmux send-keys -t "$SESSION" / a p p r o v a l . a p p r o v e d Enter
wait_for "Audit (1 events) · approval.approved"
tmux send-keys -t "$SESSION" Escape
wait_gone "· approval.approved"
tmux send-keys -t "$SESSION" 2
wait_for "[2 Users]"
tmux send-keys -t "$SESSION" p
wait_for "▸Members ("
tmux send-keys -t "$SESSION" H
wait_for "[4 Audit]"
wait_for "· history of "
wait_for "scim.user.create"
echo "ok: the Audit pane lists, shows, filters, and opens a member's history with H"

# Users: s shows one state at a time and the title says what is counted; six presses go
# round to all states again.
tmux send-keys -t "$SESSION" 2
wait_for "[2 Users]"
tmux send-keys -t "$SESSION" s
wait_for " active)"
tmux send-keys -t "$SESSION" s s s s s
wait_for "all states)"
echo "ok: s filters the members by state"
tmux send-keys -t "$SESSION" o
wait_for "by name ↑"
tmux send-keys -t "$SESSION" O
wait_for "by name ↓"
tmux send-keys -t "$SESSION" o o o
wait_gone "by created"
echo "ok: o and O sort the members on the server"

# :export onto a file that exists asks first; Cancel keeps the file.
echo "keep me" >"$WORK/taken.json"
tmux send-keys -t "$SESSION" ":export $WORK/taken.json" Enter
wait_for "taken.json exists"
tmux send-keys -t "$SESSION" Enter
wait_for "left as it was"
[ "$(cat "$WORK/taken.json")" = "keep me" ] || fail ":export wrote over a file without asking"
echo "ok: :export asks before writing over a file"

# Stacks and roles from the command line; every notice is kept whole in :messages.
tmux send-keys -t "$SESSION" ':stack Ops' Enter
wait_for "[3 Group Mapping]"
wait_for "stack Ops created"
tmux send-keys -t "$SESSION" ':role Ops Oncall' Enter
wait_for "role Oncall added to Ops"
tmux send-keys -t "$SESSION" ':messages' Enter
wait_for "Messages ("
wait_for "stack Ops created with the roles Admin, Developer, Content Manager"
tmux send-keys -t "$SESSION" Escape
wait_gone "Messages ("
echo "ok: :stack and :role reach the server; :messages shows every notice whole"

# The mapping editor opens on Enter and, with nothing edited, Esc leaves it without asking.
tmux send-keys -t "$SESSION" 3
wait_for "[3 Group Mapping]"
wait_for "SCIM groups ("
wait_for " MAPPING"
tmux send-keys -t "$SESSION" Enter
wait_for "Edit mapping · "
wait_for "no unsaved edits"
tmux send-keys -t "$SESSION" Escape
wait_gone "Edit mapping · "
wait_for "SCIM groups ("
if screen | grep -qiE 'discard|unsaved'; then
  fail "leaving an untouched editor asked a question"
fi
echo "ok: the mapping editor opens with Enter and Esc leaves it without a question"

# An unmapped group (Contractors, the third) opened and left untouched has no unsaved edits.
tmux send-keys -t "$SESSION" j j
wait_for "│› Contractors"
tmux send-keys -t "$SESSION" Enter
wait_for "Contractors"
wait_for "no unsaved edits"
tmux send-keys -t "$SESSION" Escape
wait_gone "no unsaved edits"
if screen | grep -qiE 'discard|unsaved'; then
  fail "leaving an untouched unmapped group asked a question"
fi
echo "ok: an untouched unmapped group has no unsaved edits and Esc leaves it"

# Still inside the console: it runs on the alternate screen.
[ "$(pane_flag alternate_on)" = 1 ] || fail "the console is not on the alternate screen"

tmux send-keys -t "$SESSION" q
wait_for "EXITED=0"
# Restored: back on the normal screen, with the cursor shown.
[ "$(pane_flag alternate_on)" = 0 ] || fail "the alternate screen was not left after quitting"
[ "$(pane_flag cursor_flag)" = 1 ] || fail "the cursor is still hidden after quitting"
echo "ok: q quits cleanly and restores the terminal"

# --mouse: the console asks for the mouse (SGR reports); a click on a row selects it, the
# wheel moves the selection three rows, a click on a tab opens its pane. The reports are
# typed into the pane as a terminal would send them (1-based column;row).
tmux kill-session -t "$SESSION" 2>/dev/null || true
tmux new-session -d -s "$SESSION" -x 80 -y 24 \
  "env SCIMDESK_DATA_DIR='$WORK/data' SCIMDESK_CONFIG_DIR='$WORK/config' TERM=xterm-256color '$BIN' --mouse; echo EXITED=\$?; sleep 30"
wait_for "● online"
wait_for "Members ("
[ "$(pane_flag mouse_sgr_flag)" = 1 ] || fail "--mouse did not turn on SGR mouse reports"
click() { tmux send-keys -t "$SESSION" -l $'\e[<0;'"$1;$2"'M'$'\e[<0;'"$1;$2"'m'; }
# Screen row 7 is the third member (the list's border, its header, then the rows).
THIRD="$(screen | sed -n 7p | awk '{print $2}')"
click 11 7
wait_for "│$THIRD "
echo "ok: a click selected $THIRD"
# The wheel: three rows down, to the sixth member.
SIXTH="$(screen | sed -n 10p | awk '{print $2}')"
tmux send-keys -t "$SESSION" -l $'\e[<65;11;7M'
wait_for "│$SIXTH "
echo "ok: the wheel moved the selection to $SIXTH"
click 20 2
wait_for "[3 Group Mapping]"
click 3 2
wait_for "[1 SCIM]"
echo "ok: clicks on the tabs open their panes"
tmux send-keys -t "$SESSION" q
wait_for "EXITED=0"
[ "$(pane_flag mouse_any_flag)" = 0 ] || fail "the mouse is still captured after quitting"
echo "ok: quitting gave the mouse back"

# review NEW --against OLD on the committed fixture and a copy where deprovisioning waits
# for approval: the badge counts one change, D lists it, Esc closes, q quits.
tmux kill-session -t "$SESSION" 2>/dev/null || true
sed 's/"deprovision": false/"deprovision": true/' tests/fixtures/snapshot-v1.json >"$WORK/new.json"
tmux new-session -d -s "$SESSION" -x 80 -y 24 \
  "env SCIMDESK_DATA_DIR='$WORK/data' SCIMDESK_CONFIG_DIR='$WORK/config' TERM=xterm-256color '$BIN' review '$WORK/new.json' --against tests/fixtures/snapshot-v1.json; echo EXITED=\$?; sleep 30"
wait_for "READ-ONLY"
wait_for "snapshot new.json · "
wait_for "· exported 20"
screen | head -1 | grep -q "online" && fail "review says online on a file"
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
