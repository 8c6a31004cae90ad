#!/bin/bash
# side_by_side.sh "QUERY" ROUNDS BIN... : up to three tonearm builds serving at once,
# each on its own copy of the database ($DATA, /tmp/tb-data2, /tmp/tb-data3: copies of
# the bench's data folder), rounds of 20 curl requests alternating between them; prints
# each build's p50, p90 and CPU per request (from /proc/PID/stat). On this machine,
# timings minutes apart drift by 20-40%, so builds are compared this way.
# PostgreSQL: DATA=/some/dir DBARGS="--database postgres://..." (all share the database).
# Example: side_by_side.sh "json.server.php?action=search_songs&filter=zephyr" 15 A B
Q=$1; R=$2; shift 2; DATA=${DATA:-/tmp/tb-100k/data}
. "$(dirname "$0")/tonearm_serve.sh"
declare -a PIDS URLS NAMES; DATAS=($DATA /tmp/tb-data2 /tmp/tb-data3)
OUT=$(mktemp -d)
i=0
for BIN in "$@"; do
  start_tonearm $BIN ${DATAS[$i]} $DBARGS
  PIDS[$i]=$PID; URLS[$i]="$BASE/server/$Q&auth=$TOKEN"; NAMES[$i]=$(basename $BIN)
  for k in $(seq 20); do curl -s -o /dev/null "${URLS[$i]}"; done
  echo 0 > $OUT/cpu.$i; : > $OUT/times.$i
  i=$((i+1))
done
for r in $(seq $R); do for j in $(seq 0 $((i-1))); do
  T0=$(awk '{print $14+$15}' /proc/${PIDS[$j]}/stat)
  for k in $(seq 20); do curl -s -o /dev/null -w '%{time_total}\n' "${URLS[$j]}"; done >> $OUT/times.$j
  T1=$(awk '{print $14+$15}' /proc/${PIDS[$j]}/stat)
  echo $(( $(cat $OUT/cpu.$j) + T1 - T0 )) > $OUT/cpu.$j
done; done
for j in $(seq 0 $((i-1))); do
  N=$(wc -l < $OUT/times.$j)
  sort -n $OUT/times.$j | awk -v n=$N -v c=$(cat $OUT/cpu.$j) -v name=${NAMES[$j]} '{a[NR]=$1} END {printf "%-16s p50 %.2f ms  p90 %.2f ms  cpu %.2f ms/req  (n=%d)\n", name, a[int(n/2)]*1000, a[int(n*0.9)]*1000, c*10/n, n}'
  kill ${PIDS[$j]}
done
wait 2>/dev/null
rm -rf $OUT
