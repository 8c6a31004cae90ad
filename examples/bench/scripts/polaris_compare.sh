#!/bin/bash
# polaris_compare.sh ROUNDS BIN : search_songs on tonearm (SQLite on $SQLITE_DATA, PostgreSQL
# on $PG_URL with $PG_DATA) and the same search on a running Polaris (started by
# polaris_run.sh), rounds interleaved; p50s over keep-alive and new connections.
R=$1; BIN=$2
REF=${POLARIS_REF:-/tmp/polaris-ref}
SQLITE_DATA=${SQLITE_DATA:-/tmp/tb-100k/data}
PG_DATA=${PG_DATA:-/tmp/tbpg-data}
PG_URL=${PG_URL:-postgres://postgres@localhost:55432/tbpg}
. "$(dirname "$0")/tonearm_serve.sh"
search_url() { echo "$BASE/server/json.server.php?action=search_songs&filter=zephyr&auth=$TOKEN"; }
# N keep-alive requests in one curl process.
keepalive() {
  local n=$1 url=$2; shift 2
  local args=(); for i in $(seq $n); do args+=(-o /dev/null "$url"); done
  curl -s "$@" -w '%{time_total}\n' "${args[@]}" | p50
}
newconn() { for i in $(seq 50); do curl -s -o /dev/null -w '%{time_total}\n' "$@"; done | p50; }
p50() { sort -n | awk '{a[NR]=$1*1000} END {printf "p50 %.2f ms  p90 %.2f ms (n=%d)", a[int(NR/2)], a[int(NR*0.9)], NR}'; }
start_tonearm $BIN $SQLITE_DATA; SQ=$(search_url); SP=$PID
start_tonearm $BIN $PG_DATA --database $PG_URL; PQ=$(search_url); PP=$PID
PB=$(cat $REF/base_url); PT=$(cat $REF/token)
POL="$PB/api/search/zephyr"
PH=(-H 'Accept-Version: 8' -H "Authorization: Bearer $PT")
# Polaris's search answers 200 songs in full and all as paths; the rest in full come
# from POST /api/songs with the paths.
PATHS=$(mktemp)
curl -s "${PH[@]}" "$POL" | python3 -c 'import json,sys; print(json.dumps({"paths": json.load(sys.stdin)["paths"]}))' > $PATHS
for w in 1 2; do keepalive 20 "$SQ" >/dev/null; keepalive 20 "$PQ" >/dev/null; keepalive 20 "$POL" "${PH[@]}" > /dev/null; done
for r in $(seq $R); do
  echo "== round $r"
  echo "tonearm SQLite   keep-alive: $(keepalive 100 "$SQ")   new conn: $(newconn "$SQ")"
  echo "tonearm Postgres keep-alive: $(keepalive 100 "$PQ")   new conn: $(newconn "$PQ")"
  echo "Polaris search   keep-alive: $(keepalive 100 "$POL" "${PH[@]}")   new conn: $(newconn "${PH[@]}" "$POL")"
  echo "Polaris songs    keep-alive: $(keepalive 100 "$PB/api/songs" -H 'Content-Type: application/json' -H "Authorization: Bearer $PT" --data-binary @$PATHS)"
done
kill $SP $PP; wait 2>/dev/null
rm -f $PATHS
