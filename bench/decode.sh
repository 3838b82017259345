#!/usr/bin/env bash
# Benchmark: decoding a ~10 MB pickle and a ~10 MB msgpack value, cachectl's
# decoders against CPython's C unpickler (pickle.loads) and msgpack's C
# extension (msgpack.unpackb), on the same bytes, printed as throughput ratios.
#
#   bench/decode.sh
#
# Needs Debian's /usr/bin/python3 with python3-msgpack.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
py=/usr/bin/python3
$py -c 'import msgpack' 2>/dev/null || { echo "bench: needs /usr/bin/python3 with python3-msgpack" >&2; exit 1; }

# A realistic cache value: 100k rows of an API response, as apps cache them.
$py - "$work" <<'PY'
import datetime, decimal, msgpack, pickle, sys, uuid
out = sys.argv[1]
rows = [{"id": i, "name": f"user-{i}", "email": f"user{i}@example.org", "score": i * 1.5,
         "active": i % 3 == 0, "tags": ["a", "b", str(i % 7)], "n": None}
        for i in range(113_000)]
with open(f"{out}/data.msgpack", "wb") as f:
    f.write(msgpack.packb(rows, use_bin_type=True))
prow = [dict(r, created=datetime.datetime(2024, 1, 1) + datetime.timedelta(seconds=r["id"]),
             price=decimal.Decimal(f"{r['id']}.50")) for r in rows[:84_000]]
with open(f"{out}/data.pickle", "wb") as f:
    f.write(pickle.dumps(prow, protocol=5))
PY

timeit() { # FILE MODULE CALL
	$py - "$1" "$2" "$3" <<'PY'
import importlib, sys, time
data = open(sys.argv[1], "rb").read()
mod = importlib.import_module(sys.argv[2])
fn = eval(sys.argv[3], {sys.argv[2]: mod})
times = []
for _ in range(5):
    t0 = time.perf_counter()
    fn(data)
    times.append(time.perf_counter() - t0)
print(len(data) / min(times) / 1e6)
PY
}
py_pickle=$(timeit "$work/data.pickle" pickle "pickle.loads")
py_msgpack=$(timeit "$work/data.msgpack" msgpack "msgpack.unpackb")

gobench() { # NAME FILE
	CACHECTL_BENCH_FILE=$2 go test -C "$root" -run '^$' -bench "^BenchmarkDecodeFile$1\$" -benchtime 5x -count 3 ./internal/serial/ |
		awk '/MB\/s/ { for (i = 1; i <= NF; i++) if ($(i+1) == "MB/s" && $i > best) best = $i } END { print best }'
}
go_pickle=$(gobench Pickle "$work/data.pickle")
go_msgpack=$(gobench Msgpack "$work/data.msgpack")

printf '\n%-8s %10s %12s %12s %8s\n' value size "cachectl" "python (C)" ratio
for kind in pickle msgpack; do
	g=go_$kind p=py_$kind
	size=$(stat -c %s "$work/data.$kind")
	awk -v k="$kind" -v s="$size" -v g="${!g}" -v p="${!p}" \
		'BEGIN { printf "%-8s %8.1f MB %9.1f MB/s %9.1f MB/s %7.2fx\n", k, s/1e6, g, p, g/p }'
done
