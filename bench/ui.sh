#!/usr/bin/env bash
# Benchmark: how soon `cachectl ui` paints its first keys and how long its
# whole listing takes, in a real terminal (tmux), against redis-cli --scan on
# the same data in one run; then the Go benchmark of one frame with a million
# keys loaded and the heap they cost.
#
#   bench/ui.sh [TOTAL_KEYS]       (default 200000)
#
# Starts its own redis-server on a free loopback port, fills it with DEBUG
# POPULATE, builds cachectl. Needs redis-server, redis-cli, tmux and python3.
set -euo pipefail

total=${1:-200000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
sock="$work/tmux.sock"
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; redis-cli -p "${port:-1}" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work" 2>/dev/null || true' EXIT

for tool in redis-server redis-cli tmux python3; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
	--enable-debug-command local --dir "$work" --pidfile "$work/redis.pid" --logfile "$work/redis.log"
for _ in $(seq 50); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
redis-cli -p "$port" debug populate "$total" orders >/dev/null
echo "bench: $(redis-cli -p "$port" dbsize) keys; redis $(redis-server --version | grep -o 'v=[0-9.]*')" >&2
go build -C "$root" -o "$work/cachectl" ./cmd/cachectl

want=$(python3 -c "print(f'{$total:,}')")
# ms since start until the first key line / the full count, from the anchor.
anchor=$(python3 - "$port" <<'PY'
import subprocess, sys, time
port = sys.argv[1]
t0 = time.perf_counter()
p = subprocess.Popen(["redis-cli", "-p", port, "--scan"], stdout=subprocess.PIPE)
p.stdout.readline()
first = time.perf_counter() - t0
n = 1 + sum(1 for _ in p.stdout)
p.wait()
print(f"{first*1000:.1f} {(time.perf_counter()-t0)*1000:.1f} {n}")
PY
)

# The dashboard, watched as a person would: poll the screen every 2 ms.
ui=$(python3 - "$sock" "$work/cachectl" "redis://127.0.0.1:$port" "$want" <<'PY'
import re, subprocess, sys, time
sock, bin, url, want = sys.argv[1:]
tm = lambda *a: subprocess.run(["tmux", "-S", sock, *a], capture_output=True, text=True).stdout
# Baseline: the same terminal running a command that prints at once.
t0 = time.perf_counter()
tm("-f", "/dev/null", "new-session", "-d", "-s", "e", "-x", "160", "-y", "45", "sh", "-c", "echo ready; sleep 30")
while "ready" not in tm("capture-pane", "-p", "-t", "e"):
    time.sleep(0.002)
base = time.perf_counter() - t0
tm("kill-session", "-t", "e")
t0 = time.perf_counter()
tm("-f", "/dev/null", "new-session", "-d", "-s", "b", "-x", "160", "-y", "45", bin, "-u", url, "ui")
frame = first = full = None
while time.perf_counter() - t0 < 60:
    scr = tm("capture-pane", "-p", "-t", "b")
    t = time.perf_counter() - t0
    if frame is None and "Keys" in scr:
        frame = t
    if first is None and re.search(r"│orders:\d", scr):
        first = t
    if re.search(r"Keys " + re.escape(want) + r"\s", scr) and "scanning" not in scr:
        full = t
        break
    time.sleep(0.002)
# Peak memory of the dashboard holding the whole listing, then one frame's
# worth of browsing in tree view (built on first use).
pid = tm("list-panes", "-t", "b", "-F", "#{pane_pid}").strip()
tm("send-keys", "-t", "b", "v")
while "· tree" not in tm("capture-pane", "-p", "-t", "b"):
    time.sleep(0.01)
hwm = 0
for line in open(f"/proc/{pid}/status"):
    if line.startswith("VmHWM:"):
        hwm = int(line.split()[1]) / 1024
tm("send-keys", "-t", "b", "q")
print(f"{base*1000:.1f} {(frame or 0)*1000:.1f} {(first or 0)*1000:.1f} {(full or 0)*1000:.1f} {hwm:.1f}")
PY
)

read -r a_first a_full a_n <<<"$anchor"
read -r u_base u_frame u_first u_full u_rss <<<"$ui"
echo "keys: $total (redis-cli --scan listed $a_n)"
printf "first frame:          cachectl ui %7.1f ms   (tmux itself, running echo: %.1f ms)\n" "$u_frame" "$u_base"
printf "first keys on screen: cachectl ui %7.1f ms   (%.1f ms after the first frame)   redis-cli --scan first line %7.1f ms\n" "$u_first" "$(python3 -c "print($u_first-$u_frame)")" "$a_first"
printf "whole listing:        cachectl ui %7.1f ms   redis-cli --scan            %7.1f ms   ratio %.2f\n" "$u_full" "$a_full" "$(python3 -c "print($u_full/$a_full)")"
echo "(the dashboard's times include starting the process and tmux; the screen is polled every 2 ms)"
echo "peak RSS of the dashboard with every key loaded, flat then tree view: $u_rss MiB"

echo
echo "frame cost and memory with 1,000,000 keys loaded (go test -bench):"
(cd "$root" && go test ./internal/tui/ -run '^$' -bench 'Frame1M' -benchtime 3000x -benchmem | grep Benchmark)
(cd "$root" && go test ./internal/tui/ -run '^$' -bench 'Memory1M' -benchtime 1x | grep Benchmark)
