#!/usr/bin/env bash
# Start the Polaris reference server (agersant/polaris 0.16.0, built in /tmp/polaris-ref/src)
# in the background on a free loopback port, wait until its index of the music dir is
# complete, log in, and print the base URL plus the curl command for the `zephyr` search.
# Leaves the server running; PID in /tmp/polaris-ref/pid (stop: kill "$(cat /tmp/polaris-ref/pid)").
#
# Env overrides:
#   MUSIC=/tmp/tb-100k/music    mount dir (read only; Polaris never writes to it)
#   POLARIS_LOG_LEVEL=info      off/error/warn/info/debug/trace (info logs one line per request)
#   POLARIS_NICE=0              nice level for the server process
#   INDEX_TIMEOUT=3600          seconds to wait for the index
#   POLARIS_NUM_TRAVERSER_THREADS  (read by Polaris itself; default min(nproc, 8))
set -euo pipefail

REF=${POLARIS_REF:-/tmp/polaris-ref}
BIN=$REF/src/target/release/polaris
DATA=$REF/data
MUSIC=${MUSIC:-/tmp/tb-100k/music}
USERNAME=bench
PASSWORD=bench-pass
LOG_LEVEL=${POLARIS_LOG_LEVEL:-info}
NICE=${POLARIS_NICE:-0}
INDEX_TIMEOUT=${INDEX_TIMEOUT:-3600}
LOG=$REF/polaris.log

[ -x "$BIN" ] || { echo "missing binary $BIN (build: cd $REF/src && nice -n 19 cargo build --release)" >&2; exit 1; }
[ -d "$MUSIC" ] || { echo "missing music dir $MUSIC" >&2; exit 1; }

if [ -f "$REF/pid" ] && kill -0 "$(cat "$REF/pid")" 2>/dev/null; then
	echo "Polaris already running with pid $(cat "$REF/pid") ($(cat "$REF/base_url" 2>/dev/null)); stop it first: kill $(cat "$REF/pid")" >&2
	exit 1
fi

mkdir -p "$DATA/cache" "$DATA/web"
# Config: one mount dir + one admin user. Polaris hashes initial_password in memory;
# it only rewrites this file when settings are changed through the API.
CONFIG=$DATA/polaris.toml
if [ ! -s "$CONFIG" ] || ! grep -qF "source = \"$MUSIC\"" "$CONFIG"; then
	cat > "$CONFIG" <<EOF
[[mount_dirs]]
source = "$MUSIC"
name = "music"

[[users]]
name = "$USERNAME"
admin = true
initial_password = "$PASSWORD"
EOF
	# a different mount dir invalidates the persisted index
	rm -f "$DATA/collection.index"
fi

if [ -f "$DATA/collection.index" ]; then
	echo "Persisted index found ($(du -h "$DATA/collection.index" | cut -f1)); Polaris serves it at once but always rescans at start-up."
else
	echo "No persisted index; first full scan of $MUSIC."
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"

# -f: stay in the foreground (no daemonize); without --log, -f logs to stdout/stderr only.
nohup nice -n "$NICE" "$BIN" -f \
	-c "$CONFIG" --data "$DATA" --cache "$DATA/cache" -w "$DATA/web" \
	--bind-address 127.0.0.1 -p "$PORT" --log-level "$LOG_LEVEL" \
	> "$LOG" 2>&1 < /dev/null &
PID=$!
echo "$PID" > "$REF/pid"
echo "$BASE" > "$REF/base_url"
T0=$(date +%s.%N)
echo "Started Polaris pid $PID on $BASE (log: $LOG)"

die() { echo "ERROR: $*" >&2; tail -20 "$LOG" >&2; exit 1; }

# 1. wait for the listener (the index restore from disk happens before it binds)
for i in $(seq 1 600); do
	kill -0 "$PID" 2>/dev/null || die "Polaris exited"
	curl -sf -o /dev/null "$BASE/api/version" && break
	sleep 0.1
done
curl -sf -o /dev/null "$BASE/api/version" || die "server did not start listening"
echo "Listening after $(echo "$(date +%s.%N) - $T0" | bc) s; /api/version = $(curl -s "$BASE/api/version")"

# 2. log in (token is permanent for this data dir's auth.secret)
TOKEN=$(curl -sf -X POST -H 'Content-Type: application/json' \
	-d "{\"username\":\"$USERNAME\",\"password\":\"$PASSWORD\"}" "$BASE/api/auth" | jq -r .token) \
	|| die "login failed"
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || die "login returned no token"
echo "$TOKEN" > "$REF/token"
AUTH="Authorization: Bearer $TOKEN"

# 3. wait for the scan started at launch to finish (state UpToDate)
last_print=0
while :; do
	kill -0 "$PID" 2>/dev/null || die "Polaris exited during indexing"
	ST=$(curl -sf -H "$AUTH" -H 'Accept-Version: 8' "$BASE/api/index_status") || die "index_status failed"
	state=$(jq -r .state <<<"$ST")
	now=$(date +%s)
	if [ "$state" = UpToDate ]; then break; fi
	if (( now - last_print >= 10 )); then
		echo "  $(date +%T) index: $state, $(jq -r .num_songs_indexed <<<"$ST") songs read"
		last_print=$now
	fi
	(( $(printf '%.0f' "$(echo "$(date +%s.%N) - $T0" | bc)") < INDEX_TIMEOUT )) || die "index not done after $INDEX_TIMEOUT s"
	sleep 1
done
SCAN_S=$(jq -r '((.last_end_time - .last_start_time) / 1000)' <<<"$ST")
echo "Index up to date: $(jq -r .num_songs_indexed <<<"$ST") songs; scan took $SCAN_S s (server-reported); $(echo "$(date +%s.%N) - $T0" | bc) s since spawn"
grep -E 'Collection scan took|ERROR|WARN' "$LOG" | grep -v '\] \[' | head -5 || true
echo "Errors in log: $(grep -c 'ERROR' "$LOG" || true)"

# 4. one functional search
SEARCH_URL="$BASE/api/search/zephyr"
CMD="curl -s -H 'Accept-Version: 8' -H 'Authorization: Bearer $TOKEN' '$SEARCH_URL'"
echo "$CMD" > "$REF/search_cmd"
R=$(curl -sf -H 'Accept-Version: 8' -H "$AUTH" "$SEARCH_URL") || die "search failed"
echo "Search check: $(jq '.paths|length' <<<"$R") matching paths, $(jq '.first_songs|length' <<<"$R") full song objects, $(printf %s "$R" | wc -c) bytes"

echo
echo "PID:      $PID  (written to $REF/pid)"
echo "Base URL: $BASE"
echo "Search:   $CMD"
