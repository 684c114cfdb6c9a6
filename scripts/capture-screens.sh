#!/usr/bin/env bash
# Regenerates screenshots-text/: runs `skiff demo` in a detached tmux session (120x40), lets traffic, a health flap
# and the rings warm up, then captures each of the console's eight views with tmux capture-pane.
# Usage: scripts/capture-screens.sh [path/to/skiff]   (default: .build/release/skiff; builds it if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
skiff="${1:-.build/release/skiff}"
[ -x "$skiff" ] || swift build -c release --product skiff
command -v tmux >/dev/null || { echo "tmux is needed (apt-get install tmux)"; exit 1; }
session="skiff-capture-$$"
mkdir -p screenshots-text
tmux new-session -d -s "$session" -x 120 -y 40 "NCURSES_NO_UTF8_ACS=1 $skiff demo --rate 150"
trap 'tmux kill-session -t "$session" 2>/dev/null || true' EXIT
sleep 12
names=(overview listeners clusters connections threads writes health events)
for i in 1 2 3 4 5 6 7 8; do
  tmux send-keys -t "$session" "$i"
  sleep 1.5
  tmux capture-pane -p -t "$session" > "screenshots-text/$i-${names[$((i-1))]}.txt"
done
tmux send-keys -t "$session" q
sleep 1
echo "captured: $(ls screenshots-text | tr '\n' ' ')"
