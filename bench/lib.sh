# Helpers shared by the bench scripts; source it after setting $work (the
# script's scratch directory). Each script counts its failed checks in $fails
# and exits 1 at the end when there were any.

# free_port: a loopback port that was free a moment ago.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fails=0
# fail MSG: report a failed check; the run goes on.
fail() { echo "bench: CHECK FAILED: $*" >&2; fails=$((fails + 1)); echo "$*" >>"$work/failures"; }
# timed NAME CMD...: run CMD, append its wall time in seconds to $work/t.NAME.
timed() {
	local name=$1 s e rc=0
	shift
	s=$(date +%s.%N)
	"$@" || rc=$?
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f\n", e - s }' >>"$work/t.$name"
	[ "$rc" = 0 ] || fail "$name exited with status $rc"
}
# last NAME: the latest time recorded for NAME.
last() { tail -1 "$work/t.$1"; }
# count_lua: one server-side SCAN of a node, counting all its keys and the
# inv:* ones (EVAL count_lua 0 → {all, inv}), the checks after each run.
count_lua='local cur, all, inv = "0", 0, 0
repeat
  local r = redis.call("SCAN", cur, "COUNT", 1000)
  cur = r[1]
  for _, k in ipairs(r[2]) do
    all = all + 1
    if string.sub(k, 1, 4) == "inv:" then inv = inv + 1 end
  end
until cur == "0"
return {all, inv}'
