#!/usr/bin/env bash
# Stop the Polaris server started by polaris_run.sh (SIGTERM, then wait up to 10 s for exit).
P=$(cat "${POLARIS_REF:-/tmp/polaris-ref}/pid" 2>/dev/null) || { echo "no pid file"; exit 0; }
kill -0 "$P" 2>/dev/null || { echo "pid $P not running"; exit 0; }
kill "$P"
for i in $(seq 100); do kill -0 "$P" 2>/dev/null || { echo "stopped pid $P"; exit 0; }; sleep 0.1; done
echo "pid $P still running after 10 s" >&2; exit 1
