#!/usr/bin/env bash
# Starts the real Redis servers the test tiers need, each on its own port and in
# its own directory, and prints the environment that points the tests at them.
#
#   .ci/redis-servers.sh up   DIR BASE   # standalone BASE, cluster BASE+1..3, nodes BASE+11..15
#                                        # (the cluster bus takes BASE+10001..3 too)
#   .ci/redis-servers.sh down DIR        # kill exactly the processes started in DIR
#
# It installs redis-server/redis-tools with apt-get only when they are missing.
set -euo pipefail

cmd=${1:?up|down}
dir=${2:?state directory}

ensure_redis() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    echo "installing redis-server and redis-tools" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq redis-server redis-tools >&2
  fi
}

start_one() { # port extra-args...
  local port=$1; shift
  mkdir -p "$dir/$port"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$port" --save "" \
    --appendonly no --daemonize no --logfile "$dir/$port/redis.log" \
    --maxmemory-policy noeviction "$@" </dev/null >/dev/null 2>&1 &
  echo $! >>"$dir/pids"
}

wait_ping() { # port
  for _ in $(seq 1 100); do
    redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  echo "redis on port $1 did not start" >&2
  cat "$dir/$1/redis.log" >&2 || true
  return 1
}

case "$cmd" in
up)
  base=${3:?base port}
  ensure_redis
  mkdir -p "$dir"
  : >"$dir/pids"
  standalone=$base
  cluster=($((base + 1)) $((base + 2)) $((base + 3)))
  nodes=($((base + 11)) $((base + 12)) $((base + 13)) $((base + 14)) $((base + 15)))
  start_one "$standalone"
  for p in "${cluster[@]}"; do
    start_one "$p" --cluster-enabled yes --cluster-config-file "$dir/$p/nodes.conf" \
      --cluster-node-timeout 5000
  done
  for p in "${nodes[@]}"; do start_one "$p"; done
  for p in "$standalone" "${cluster[@]}" "${nodes[@]}"; do wait_ping "$p"; done
  redis-cli --cluster create $(printf '127.0.0.1:%s ' "${cluster[@]}") \
    --cluster-replicas 0 --cluster-yes >"$dir/cluster-create.log" 2>&1 || {
    cat "$dir/cluster-create.log" >&2; exit 1; }
  for _ in $(seq 1 100); do
    ok=1
    for p in "${cluster[@]}"; do
      redis-cli -p "$p" cluster info | grep -q 'cluster_state:ok' || ok=0
    done
    [ $ok = 1 ] && break
    sleep 0.1
  done
  [ $ok = 1 ] || { echo "cluster did not reach state ok" >&2; exit 1; }
  join() { local IFS=,; echo "$*"; }
  echo "export SURGE_REDIS_ADDR=127.0.0.1:$standalone"
  echo "export SURGE_REDIS_CLUSTER=$(join $(printf '127.0.0.1:%s ' "${cluster[@]}"))"
  echo "export SURGE_REDIS_NODES=$(join $(printf '127.0.0.1:%s ' "${nodes[@]}"))"
  ;;
down)
  if [ -f "$dir/pids" ]; then
    while read -r pid; do kill -CONT "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done <"$dir/pids"
    sleep 0.5
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$dir/pids"
    rm -f "$dir/pids"
  fi
  ;;
*) echo "usage: $0 up DIR BASE | down DIR" >&2; exit 2 ;;
esac
