#!/usr/bin/env bash
# Benchmark: streaming `cachectl keys` on memcached against `memcached-tool
# HOST keys` (from the memcached package) on the same data in one run, with
# peak RSS at two sizes to show that memory stays flat.
#
#   bench/memcached-keys.sh [TOTAL_KEYS]     (default 1000000)
#
# Starts its own memcached on a free loopback port (nothing else is touched),
# fills it with pipelined quiet meta sets, builds cachectl, and prints times
# and ratios. Needs memcached, perl (memcached-tool), python3, hyperfine and
# GNU time.
set -euo pipefail

total=${1:-1000000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
tool=/usr/share/memcached/scripts/memcached-tool
trap 'kill "$(cat "$work/mc.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT

for t in memcached python3 perl hyperfine /usr/bin/time "$tool"; do
	command -v "$t" >/dev/null || [ -x "$t" ] || { echo "bench: $t is required" >&2; exit 1; }
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
user=()
[ "$(id -u)" -eq 0 ] && user=(-u root)
memcached -l 127.0.0.1 -p "$port" -U 0 -m 2048 "${user[@]}" -d -P "$work/mc.pid"
for _ in $(seq 50); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break
	sleep 0.1
done

# fill N PREFIX: N keys PREFIX:000000… with small values, half of them with a TTL.
fill() {
	python3 - "$port" "$1" "$2" <<'PY'
import socket, sys
port, n, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
batch = []
for i in range(n):
    ttl = 3600 if i % 2 else 0
    batch.append(b"ms %s:%09d 12 T%d q\r\nvalue-%06d\r\n" % (prefix.encode(), i, ttl, i % 1000000))
    if len(batch) == 10000:
        s.sendall(b"".join(batch) + b"mn\r\n")
        buf = b""
        while not buf.endswith(b"MN\r\n"):
            buf += s.recv(65536)
        if buf != b"MN\r\n":
            sys.exit("fill: " + buf[:200].decode(errors="replace"))
        batch = []
if batch:
    s.sendall(b"".join(batch) + b"mn\r\n")
    buf = b""
    while not buf.endswith(b"MN\r\n"):
        buf += s.recv(65536)
PY
}

go build -C "$root" -o "$work/cachectl" ./cmd/cachectl
url="memcached://127.0.0.1:$port"
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

small=$((total / 10))
echo "bench: filling $small keys" >&2
fill "$small" k
rss_small=$(rss "$work/cachectl" -u "$url" keys)
echo "bench: filling up to $total keys" >&2
fill "$((total - small))" m
items=$(printf 'stats\r\n' | python3 -c "
import socket,sys
s=socket.create_connection(('127.0.0.1',$port)); s.sendall(b'stats\r\n'); b=b''
while not b.endswith(b'END\r\n'): b+=s.recv(65536)
print([l.split()[2] for l in b.decode().splitlines() if l.startswith('STAT curr_items')][0])")
echo "bench: $items items; $(memcached -V)" >&2

# Both tools must list (nearly) every key. metadump is not a snapshot: while
# the server's LRU maintainer moves fresh items between LRU segments a crawl
# can miss or repeat a few, for any client, so wait for the LRUs to settle
# and allow 0.1%.
settle=0
while :; do
	a=$("$work/cachectl" -u "$url" keys | wc -l)
	b=$("$tool" "127.0.0.1:$port" keys 2>/dev/null | wc -l)
	echo "bench: keys listed: cachectl $a, memcached-tool $b (want $total)" >&2
	{ [ "$a" = "$total" ] && [ "$b" = "$total" ]; } && break
	settle=$((settle + 1))
	if [ "$settle" -ge 10 ]; then
		python3 -c "import sys; a,b,t=map(int,sys.argv[1:]); sys.exit(0 if abs(a-t)<=t/1000 and abs(b-t)<=t/1000 else 1)" "$a" "$b" "$total" ||
			{ echo "bench: listings differ by more than 0.1%" >&2; exit 1; }
		break
	fi
done

hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "$work/h.json" \
	-n "cachectl keys" "$work/cachectl -u $url keys > /dev/null" \
	-n "cachectl keys 'm:*1'" "$work/cachectl -u $url keys 'm:*1' > /dev/null" \
	-n "memcached-tool keys" "$tool 127.0.0.1:$port keys > /dev/null 2>&1"

rss_c=$(rss "$work/cachectl" -u "$url" keys)
rss_t=$(rss "$tool" "127.0.0.1:$port" keys)

python3 - "$work/h.json" "$rss_c" "$rss_t" "$rss_small" "$small" "$total" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
c = res["cachectl keys"]["mean"]
print()
print(f"{'tool':32} {'mean s':>8} {'ratio':>8}")
for name, r in res.items():
    print(f"{name:32} {r['mean']:8.3f} {r['mean']/c:7.2f}x")
print(f"\npeak RSS: cachectl {int(sys.argv[2])/1024:.1f} MiB at {sys.argv[6]} keys "
      f"({int(sys.argv[4])/1024:.1f} MiB at {sys.argv[5]}), memcached-tool {int(sys.argv[3])/1024:.1f} MiB")
PY
