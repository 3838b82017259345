#!/usr/bin/env bash
# Benchmark: streaming `cachectl keys PATTERN` against `redis-cli --scan
# --pattern PATTERN` on the same data in one run, with peak RSS.
#
#   bench/keys.sh [TOTAL_KEYS]     (default 2000000; half of them match 'p*')
#
# Starts its own redis-server on a free loopback port (nothing else is touched),
# fills it with DEBUG POPULATE, builds cachectl, and prints times and ratios.
# Needs redis-server, redis-cli, hyperfine and GNU time.
set -euo pipefail

total=${1:-2000000}
half=$((total / 2))
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "$(cat "$work/redis.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT

for tool in redis-server redis-cli hyperfine /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)))
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
	--enable-debug-command local --dir "$work" --pidfile "$work/redis.pid" --logfile "$work/redis.log"
for _ in $(seq 50); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done

echo "bench: filling $total keys ($half match 'p*')" >&2
redis-cli -p "$port" debug populate "$half" p >/dev/null
redis-cli -p "$port" debug populate "$half" q >/dev/null
echo "bench: $(redis-cli -p "$port" dbsize) keys; redis $(redis-server --version | grep -o 'v=[0-9.]*')" >&2

go build -C "$root" -o "$work/cachectl" ./cmd/cachectl
url="redis://127.0.0.1:$port/0"

# Both tools must list exactly the same keys.
a=$("$work/cachectl" -u "$url" keys 'p*' | sort -u | wc -l)
b=$(redis-cli -p "$port" --scan --pattern 'p*' | sort -u | wc -l)
echo "bench: distinct keys listed: cachectl $a, redis-cli $b (want $half)" >&2
[ "$a" = "$half" ] && [ "$b" = "$half" ] || { echo "bench: listings differ" >&2; exit 1; }

hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "$work/h.json" \
	-n "cachectl keys" "$work/cachectl -u $url keys 'p*' > /dev/null" \
	-n "redis-cli --scan" "redis-cli -p $port --scan --pattern 'p*' > /dev/null"

rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
rss_c=$(rss "$work/cachectl" -u "$url" keys 'p*')
rss_r=$(rss redis-cli -p "$port" --scan --pattern 'p*')

python3 - "$work/h.json" "$rss_c" "$rss_r" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
c = res["cachectl keys"]["mean"]
print()
print(f"{'tool':32} {'mean s':>8} {'ratio':>8}")
for name, r in res.items():
    print(f"{name:32} {r['mean']:8.3f} {r['mean']/c:7.2f}x")
print(f"\npeak RSS: cachectl {int(sys.argv[2])/1024:.1f} MiB, redis-cli {int(sys.argv[3])/1024:.1f} MiB")
PY
