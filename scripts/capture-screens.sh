#!/usr/bin/env bash
# Regenerates screenshots-text/: runs `skiff demo` in a detached tmux session (120x40), lets traffic, a health flap
# and the rings warm up, then captures each of the console's nine views with tmux capture-pane, a host's details
# panel (Enter on a host in Clusters), the help legend, and the Clusters view at 80x24; then the xDS screens (below).
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
capture() { tmux capture-pane -p -t "$session" > "screenshots-text/$1.txt"; }
names=(overview listeners clusters connections threads writes health events requests)
for i in 1 2 3 4 5 6 7 8 9; do
  tmux send-keys -t "$session" "$i"
  sleep 2
  capture "$i-${names[$((i-1))]}"
done
# A host's details: Clusters, down from the cluster row to its first host, Enter; Esc closes.
tmux send-keys -t "$session" 3
sleep 1
tmux send-keys -t "$session" Down
sleep 0.5
tmux send-keys -t "$session" Enter
sleep 2
capture "10-host-details"
tmux send-keys -t "$session" Escape
sleep 0.5
tmux send-keys -t "$session" "?"
sleep 1
capture "11-help"
tmux send-keys -t "$session" "?"
tmux resize-window -t "$session" -x 80 -y 24 2>/dev/null || tmux resize-pane -t "$session" -x 80 -y 24
sleep 2
capture "12-clusters-80x24"
tmux send-keys -t "$session" q
sleep 1
# The control plane in the console (13: the Overview's xDS line, 14: the xDS panel of view 2, 15: the control plane
# gone): the demo has no control plane, so the end-to-end test against the test ADS server (Tests/peers/xds_server.py)
# captures these into SKIFF_CAPTURE_DIR. It runs the debug build's tests; SKIP_XDS=1 leaves them as they are.
if [ "${SKIP_XDS:-}" != 1 ]; then
  swift build --build-tests
  SKIFF_CAPTURE_DIR="$PWD/screenshots-text" swift test --skip-build \
    --filter 'XDSOperatorsBinaryTests/consoleShowsTheXDSStateAndALostControlPlane'
fi
echo "captured: $(ls screenshots-text | tr '\n' ' ')"
