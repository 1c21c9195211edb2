#!/usr/bin/env bash
# A local Airflow 3 stack for gosc-harvest, sized for 2 cores, everything on 127.0.0.1:
#   scripts/airflow-stack.sh start   demo partners + api-server + scheduler + dag-processor + triggerer
#   scripts/airflow-stack.sh stop    stop them all, by PID
# (`airflow standalone` would bind its log servers to 0.0.0.0: each component is started here
# with --skip-serve-logs where it has one, and the API server with -H 127.0.0.1.)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export AIRFLOW_HOME="${GOSC_AIRFLOW_HOME:-$ROOT/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags" AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__PARALLELISM=4 AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR=True
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:${AIRFLOW_PORT:-8080}"
export HARVEST_SOURCES="${HARVEST_SOURCES:-$ROOT/sources/demo}" HARVEST_DATA="${HARVEST_DATA:-$ROOT/data}"
export GOSC_DEMO_URL="http://127.0.0.1:${DEMO_PORT:-8765}"
PIDS="$AIRFLOW_HOME/pids"
BIN="$ROOT/.venv/bin"

start() {
  mkdir -p "$AIRFLOW_HOME/logs"
  [ -s "$PIDS" ] && { echo "already running (scripts/airflow-stack.sh stop first)"; exit 1; }
  "$BIN/airflow" db migrate >"$AIRFLOW_HOME/logs/migrate.log" 2>&1
  "$BIN/harvest" airflow-pools >"$AIRFLOW_HOME/pools.json" && "$BIN/airflow" pools import "$AIRFLOW_HOME/pools.json" >/dev/null
  : >"$PIDS"
  launch() { local name=$1; shift; "$@" >"$AIRFLOW_HOME/logs/$name.log" 2>&1 & echo "$! $name" >>"$PIDS"; }
  launch demo "$BIN/harvest" demo serve --port "${DEMO_PORT:-8765}"
  launch api-server "$BIN/airflow" api-server -H 127.0.0.1 -p "${AIRFLOW_PORT:-8080}"
  launch scheduler "$BIN/airflow" scheduler --skip-serve-logs
  launch dag-processor "$BIN/airflow" dag-processor
  launch triggerer "$BIN/airflow" triggerer --skip-serve-logs
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:${AIRFLOW_PORT:-8080}/api/v2/monitor/health" >/dev/null && break
    sleep 1
  done
  local pw
  pw=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['admin'])" \
       "$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated" 2>/dev/null || echo "see $AIRFLOW_HOME")
  echo "Airflow UI:        http://127.0.0.1:${AIRFLOW_PORT:-8080}   login: admin / $pw"
  echo "Harvest dashboard: http://127.0.0.1:${AIRFLOW_PORT:-8080}/gosc/"
  echo "Demo partners:     $GOSC_DEMO_URL   (logs: $AIRFLOW_HOME/logs, stop: make airflow-stop)"
}

stop() {
  [ -f "$PIDS" ] || { echo "nothing running"; return 0; }
  while read -r pid name; do
    kill "$pid" 2>/dev/null && echo "stopped $name ($pid)" || true
  done <"$PIDS"
  sleep 2
  while read -r pid _; do kill -9 "$pid" 2>/dev/null || true; done <"$PIDS"
  rm -f "$PIDS"
}

case "${1:-}" in start) start ;; stop) stop ;; *) echo "usage: $0 start|stop"; exit 2 ;; esac
