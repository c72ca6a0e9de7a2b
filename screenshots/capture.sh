#!/usr/bin/env bash
# Regenerates the README's pictures: runs the demo in a detached tmux pane of
# each size, waits until the incident is on screen, captures the frame with
# its colours and renders it to PNG with freeze. Called by `make screenshots`.
set -euo pipefail
cd "$(dirname "$0")/.."

MLTOP=${MLTOP:-bin/mltop}
FREEZE=${FREEZE:-freeze}
OUT=screenshots
command -v tmux >/dev/null || { echo "make screenshots needs tmux (apt-get install tmux)" >&2; exit 1; }

shoot() { # name width height extra-args...
	local name=$1 w=$2 h=$3; shift 3
	local session="mltop-shot-$name" frame
	frame=$(mktemp)
	tmux kill-session -t "$session" 2>/dev/null || true
	# --at 6m starts inside the regression; TERM and COLORTERM give the same
	# colour depth on every machine, so pictures differ only when the UI does.
	tmux new-session -d -s "$session" -x "$w" -y "$h" \
		"env TERM=xterm-256color COLORTERM=truecolor XDG_STATE_HOME=$(mktemp -d) $MLTOP demo --at 6m --seed 1 $*"
	# Wait for every source to answer (the status bar shows no "wait").
	for _ in $(seq 1 50); do
		sleep 0.2
		if tmux capture-pane -p -t "$session" | grep -q 'ALERTS' && ! tmux capture-pane -p -t "$session" | grep -q ' wait'; then
			break
		fi
	done
	sleep 1
	tmux capture-pane -e -p -t "$session" >"$frame"
	tmux kill-session -t "$session"
	"$FREEZE" --language ansi --window=false --padding 20 --margin 0 --font.size 14 \
		--background "#1e1e2e" -o "$OUT/$name.png" "$frame" >/dev/null
	rm -f "$frame"
	echo "wrote $OUT/$name.png"
}

# freeze's built-in font has no braille, so the charts of the large picture
# are drawn in ASCII; a terminal draws them in braille.
shoot dashboard-120x40 120 40 --ascii
shoot dashboard-160x48 160 48
shoot bastion-80x24 80 24
shoot ascii-80x24 80 24 --ascii --no-color
