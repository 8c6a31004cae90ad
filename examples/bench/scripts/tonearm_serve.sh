# Sourced by the comparison scripts: start_tonearm BIN DATA [DBARGS...] starts a
# tonearm server on a free loopback port with the bench's admin password, logs in and
# sets PID, BASE and TOKEN.
PW="bench password"
start_tonearm() {
  local bin=$1 data=$2; shift 2
  local log=$(mktemp)
  TONEARM_ADMIN_PASSWORD=$PW RUST_LOG=warn $bin serve --no-scan --listen 127.0.0.1:0 --data $data "$@" > $log 2>/dev/null &
  PID=$!
  for k in $(seq 50); do grep -q "listening on" $log && break; sleep 0.1; done
  BASE=$(grep -o 'http://[0-9.:]*' $log | head -1)
  rm -f $log
  # A handshake's timestamp must not repeat the start's second.
  sleep 1.1
  local ts=$(date +%s) key=$(printf %s "$PW" | sha256sum | cut -d' ' -f1)
  local auth=$(printf %s "$ts$key" | sha256sum | cut -d' ' -f1)
  TOKEN=$(curl -s "$BASE/server/json.server.php?action=handshake&user=admin&timestamp=$ts&auth=$auth&version=400001" | python3 -c 'import json,sys; print(json.load(sys.stdin)["auth"])')
}
