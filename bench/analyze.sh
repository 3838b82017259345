#!/usr/bin/env bash
# Benchmark: `cachectl analyze` against `redis-cli --memkeys` on the same
# Redis data in one run (time and peak RSS of both), cachectl's peak RSS on a
# bigger keyspace, and `cachectl analyze` on a Memcached pool against
# `memcached-tool HOST keys` listing each of its servers.
#
#   bench/analyze.sh [KEYS] [BIG_KEYS] [MC_KEYS]   (default 1000000 5000000 500000)
#
# BIG_KEYS 0 or MC_KEYS 0 skips that part; MEMKEYS_BIG=1 also times
# redis-cli --memkeys on BIG_KEYS (minutes). String values of 20-220 bytes
# under 8 prefixes x 97 sub-prefixes, a quarter each JSON, pickle, msgpack
# and text, a third with a TTL. Starts its own redis-server and two
# memcached on free loopback ports (nothing else is touched), builds
# cachectl, and prints times, ratios and checks. Needs redis-server,
# redis-cli, memcached, perl (memcached-tool), python3 and GNU time.
set -euo pipefail

keys=${1:-1000000}
big=${2:-5000000}
mckeys=${3:-500000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
mctool=/usr/share/memcached/scripts/memcached-tool
cleanup() {
	local f pid
	for f in "$work"/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill "$pid" 2>/dev/null || continue
		# Gone before its directory is: redis writes its log while it stops.
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	done
	rm -rf "$work"
}
trap cleanup EXIT
source "$root/bench/lib.sh"

for t in redis-server redis-cli memcached python3 perl /usr/bin/time "$mctool"; do
	command -v "$t" >/dev/null || [ -x "$t" ] || { echo "bench: $t is required" >&2; exit 1; }
done

port=$(free_port)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
	--dir "$work" --pidfile "$work/redis.pid" --logfile "$work/redis.log"
for _ in $(seq 50); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
url="redis://127.0.0.1:$port/0"

# fill_redis N: N keys as described above, through redis-cli --pipe.
fill_redis() {
	python3 - "$1" <<'PY' | redis-cli -p "$port" --pipe >/dev/null
import random, sys
n = int(sys.argv[1])
r = random.Random(1)
out = sys.stdout.buffer
prefixes = [b"user", b"session", b"page", b"cart", b"api", b"feed", b"img", b"tok"]
def cmd(*args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
buf = []
for i in range(n):
    k = b"%s:%d:%d" % (prefixes[i % 8], i % 97, i)
    size = 20 + r.randrange(201)
    kind = i % 4
    if kind == 0:
        v = b'{"id":%d,"v":"' % i
        v += b"x" * max(0, size - len(v) - 2) + b'"}'
    elif kind == 1:
        v = b"\x80\x04\x95" + b"y" * (size - 3)
    elif kind == 2:
        v = b"\x82\xa1a" + b"z" * (size - 3)
    else:
        v = b"plain text " + b"t" * (size - 11)
    if i % 3 == 0:
        buf.append(cmd(b"SET", k, v, b"EX", b"%d" % (3600 + r.randrange(100000))))
    else:
        buf.append(cmd(b"SET", k, v))
    if len(buf) == 10000:
        out.write(b"".join(buf))
        buf = []
out.write(b"".join(buf))
PY
}

# measure NAME CMD...: run CMD once with its stdout in $work/out.NAME; record
# wall seconds in $work/t.NAME and peak RSS (KiB) in $work/rss.NAME.
measure() {
	local name=$1
	shift
	/usr/bin/time -f "%e %M" -o "$work/time.$name" "$@" >"$work/out.$name" 2>"$work/err.$name" || fail "$name exited with status $?: $(tail -1 "$work/err.$name")"
	read -r secs rss <"$work/time.$name"
	echo "$secs" >>"$work/t.$name"
	echo "$rss" >"$work/rss.$name"
}
server_cpu() { redis-cli -p "$port" info cpu | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.2f\n", s }'; }
json_field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]])' "$@"; }

go build -C "$root" -o "$work/cachectl" ./cmd/cachectl

echo "bench: filling $keys keys" >&2
fill_redis "$keys"
n=$(redis-cli -p "$port" dbsize)
[ "$n" = "$keys" ] || fail "dbsize $n, want $keys"
echo "bench: $n keys, $(redis-cli -p "$port" info memory | awk -F: '/^used_memory_human/ {print $2}' | tr -d '\r') used; redis $(redis-server --version | grep -o 'v=[0-9.]*'); $(nproc) cores" >&2

cpu0=$(server_cpu)
measure analyze "$work/cachectl" -u "$url" analyze -o json
cpu1=$(server_cpu)
measure analyze_all "$work/cachectl" -u "$url" analyze -o json --formats all
measure analyze_none "$work/cachectl" -u "$url" analyze -o json --formats none
measure memkeys redis-cli -p "$port" --memkeys

# Both must have seen every key and the same bytes (MEMORY USAGE of each).
got=$(json_field "$work/out.analyze" keys)
[ "$got" = "$keys" ] || fail "cachectl analyzed $got keys, want $keys"
rows=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["prefixes"]), d["prefixes_approximate"])' "$work/out.analyze")
[ "$rows" = "784 False" ] || fail "prefix rows: $rows, want 784 exact (8 prefixes, 97 below each)"
cb=$(json_field "$work/out.analyze" bytes)
mb=$(awk '/ strings with / { print $4 }' "$work/out.memkeys")
[ "$cb" = "$mb" ] || fail "bytes: cachectl $cb, redis-cli --memkeys $mb"

python3 - "$work" "$keys" "$cpu0" "$cpu1" <<'PY'
import sys
work, n = sys.argv[1], int(sys.argv[2])
def t(name): return float(open(f"{work}/t.{name}").read().split()[-1])
def rss(name): return int(open(f"{work}/rss.{name}").read()) / 1024
rows = [("cachectl analyze (formats: sample)", "analyze"), ("cachectl analyze --formats all", "analyze_all"),
        ("cachectl analyze --formats none", "analyze_none"), ("redis-cli --memkeys", "memkeys")]
base = t("analyze")
print(f"\n{n} Redis keys")
print(f"{'tool':38} {'s':>7} {'ratio':>7} {'peak RSS':>10}")
for label, name in rows:
    print(f"{label:38} {t(name):7.2f} {t(name)/base:6.2f}x {rss(name):7.1f} MiB")
print(f"redis-cli --memkeys / cachectl analyze: {t('memkeys')/base:.1f}x; server CPU during cachectl analyze: {float(sys.argv[4]) - float(sys.argv[3]):.2f} s")
PY

if [ "$big" -gt 0 ]; then
	echo "bench: filling $big keys" >&2
	redis-cli -p "$port" flushall >/dev/null
	fill_redis "$big"
	measure analyze_big "$work/cachectl" -u "$url" analyze -o json
	got=$(json_field "$work/out.analyze_big" keys)
	[ "$got" = "$big" ] || fail "cachectl analyzed $got keys, want $big"
	line="$big Redis keys: cachectl analyze $(last analyze_big) s, peak RSS $(($(cat "$work/rss.analyze_big") / 1024)) MiB"
	if [ "${MEMKEYS_BIG:-0}" = 1 ]; then
		measure memkeys_big redis-cli -p "$port" --memkeys
		line="$line; redis-cli --memkeys $(last memkeys_big) s, $(($(cat "$work/rss.memkeys_big") / 1024)) MiB"
	fi
	echo
	echo "$line"
	redis-cli -p "$port" flushall >/dev/null
fi

if [ "$mckeys" -gt 0 ]; then
	user=()
	[ "$(id -u)" -eq 0 ] && user=(-u root)
	mcports=()
	for i in 1 2; do
		p=$(free_port)
		memcached -l 127.0.0.1 -p "$p" -U 0 -m 1024 "${user[@]}" -d -P "$work/mc$i.pid"
		mcports+=("$p")
	done
	for p in "${mcports[@]}"; do
		for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $p))" 2>/dev/null && break; sleep 0.1; done
	done
	echo "bench: filling $mckeys keys over 2 memcached" >&2
	# Half the keys on each server (as a client's hashing would spread them).
	for idx in 0 1; do
		python3 - "${mcports[$idx]}" "$((mckeys / 2))" "$idx" <<'PY'
import random, socket, sys
port, n, idx = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
r = random.Random(idx)
s = socket.create_connection(("127.0.0.1", port))
prefixes = [b"user", b"session", b"page", b"cart"]
def flush(batch):
    s.sendall(b"".join(batch) + b"mn\r\n")
    buf = b""
    while not buf.endswith(b"MN\r\n"):
        buf += s.recv(65536)
    if buf != b"MN\r\n":
        sys.exit("fill: " + buf[:200].decode(errors="replace"))
batch = []
for i in range(n):
    v = b"v" * (20 + r.randrange(201))
    ttl = 3600 if i % 2 else 0
    batch.append(b"ms %s:%d:%d-%d %d T%d q\r\n%s\r\n" % (prefixes[i % 4], i % 50, idx, i, len(v), ttl, v))
    if len(batch) == 10000:
        flush(batch)
        batch = []
if batch:
    flush(batch)
PY
	done
	mcurl="memcached://127.0.0.1:${mcports[0]},127.0.0.1:${mcports[1]}"
	# metadump is not a snapshot: while the LRU maintainer moves fresh items
	# between segments a crawl can miss or repeat a few, for any client (as
	# in bench/memcached-keys.sh). Wait for the LRUs to settle; allow 0.1%.
	for settle in $(seq 10); do
		measure mc_analyze "$work/cachectl" -u "$mcurl" analyze -o json
		got=$(json_field "$work/out.mc_analyze" keys)
		echo "bench: memcached keys analyzed: $got (want $mckeys)" >&2
		[ "$got" = "$mckeys" ] && break
	done
	python3 -c "import sys; a,t=map(int,sys.argv[1:]); sys.exit(0 if abs(a-t)<=t/1000 else 1)" "$got" "$mckeys" ||
		fail "cachectl analyzed $got memcached keys, want $mckeys (within 0.1%)"
	measure mc_analyze_formats "$work/cachectl" -u "$mcurl" analyze -o json --formats sample
	measure mc_tool1 "$mctool" "127.0.0.1:${mcports[0]}" keys
	measure mc_tool2 "$mctool" "127.0.0.1:${mcports[1]}" keys
	python3 - "$work" "$mckeys" <<'PY'
import sys
work, n = sys.argv[1], int(sys.argv[2])
def t(name): return float(open(f"{work}/t.{name}").read().split()[-1])
def rss(name): return int(open(f"{work}/rss.{name}").read()) / 1024
tool = t("mc_tool1") + t("mc_tool2")
print(f"\n{n} memcached keys on 2 servers")
print(f"{'tool':44} {'s':>7} {'peak RSS':>10}")
print(f"{'cachectl analyze (sizes, TTLs from metadump)':44} {t('mc_analyze'):7.2f} {rss('mc_analyze'):7.1f} MiB")
print(f"{'cachectl analyze --formats sample':44} {t('mc_analyze_formats'):7.2f} {rss('mc_analyze_formats'):7.1f} MiB")
print(f"{'memcached-tool HOST keys, both servers':44} {tool:7.2f} {max(rss('mc_tool1'), rss('mc_tool2')):7.1f} MiB")
PY
fi

if [ -s "$work/failures" ]; then
	echo "bench: $fails check(s) failed" >&2
	exit 1
fi
