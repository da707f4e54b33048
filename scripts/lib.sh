# Shared by scripts/test, scripts/demo and scripts/bench: install what is missing, build, and run a
# private redis-server that is stopped when the calling script exits. Source it; do not run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="${JOBS:-$(nproc)}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.ccache}"

PACKAGES=(build-essential cmake pkg-config ccache git
  libboost1.81-dev libboost-system1.81-dev libhiredis-dev nlohmann-json3-dev libssl-dev openssl
  libspdlog-dev libfmt-dev libgtest-dev libcli11-dev zlib1g-dev curl file jq
  redis-server redis-sentinel redis-tools systemd
  clang clang-tidy clang-format libclang-rt-14-dev
  prometheus-cpp-dev libjemalloc-dev webdis wrk)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# build DIR BUILD_TYPE [cmake args...]
build() {
  local dir="$1" type="$2"
  shift 2
  say "building $dir ($type $*); log in $dir/build.log"
  mkdir -p "$ROOT/$dir"
  if ! { cmake -S "$ROOT" -B "$ROOT/$dir" -DCMAKE_BUILD_TYPE="$type" "$@" &&
         cmake --build "$ROOT/$dir" -j "$JOBS"; } >"$ROOT/$dir/build.log" 2>&1; then
    tail -n 60 "$ROOT/$dir/build.log" >&2
    say "build failed: see $dir/build.log"
    return 1
  fi
}

free_port() {
  python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

REDIS_PID=""
REDIS_DIR=""
# stop_child PID DIR: SIGTERM the child if it still runs, wait for it, remove its directory.
stop_child() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
  [ -z "$2" ] || rm -rf "$2"
}
stop_redis() {
  stop_child "$REDIS_PID" "$REDIS_DIR"
  REDIS_PID=""
}

CLEANUPS=()
on_exit() { for c in "${CLEANUPS[@]}"; do $c || true; done; }
trap on_exit EXIT
trap 'exit 130' INT TERM

# Starts a private, durable redis-server on a free port; sets REDIS_PORT and REDIS_URL.
start_redis() {
  REDIS_PORT="$(free_port)"
  REDIS_DIR="$(mktemp -d /tmp/schedulo-redis.XXXXXX)"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" --appendonly yes \
    --maxmemory-policy noeviction --save '' --daemonize no --logfile "$REDIS_DIR/redis.log" &
  REDIS_PID=$!
  CLEANUPS+=(stop_redis)
  for _ in $(seq 1 100); do
    redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
    sleep 0.05
  done
  redis-cli -p "$REDIS_PORT" ping | grep -q PONG || { cat "$REDIS_DIR/redis.log" >&2; return 1; }
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  say "private redis-server on port $REDIS_PORT (appendonly yes)"
}

SANDBOX_PID=""
SANDBOX_DIR=""
stop_sandbox() {
  stop_child "$SANDBOX_PID" "$SANDBOX_DIR"
  SANDBOX_PID=""
}

# Starts BIN/schedulo-sandbox on a port it picks (extra arguments are passed on); sets SANDBOX_URL
# and SANDBOX_PORT. Stopped when the calling script exits, like Redis.
start_sandbox() {
  local bin="$1"
  shift
  SANDBOX_DIR="$(mktemp -d /tmp/schedulo-sandbox.XXXXXX)"
  "$bin/schedulo-sandbox" --listen 127.0.0.1:0 "$@" >"$SANDBOX_DIR/stdout" 2>"$SANDBOX_DIR/sandbox.log" &
  SANDBOX_PID=$!
  CLEANUPS+=(stop_sandbox)
  for _ in $(seq 1 100); do
    grep -q "listening on" "$SANDBOX_DIR/stdout" 2>/dev/null && break
    sleep 0.05
  done
  SANDBOX_URL="$(sed -n 's/.*listening on //p' "$SANDBOX_DIR/stdout")"
  [ -n "$SANDBOX_URL" ] || { cat "$SANDBOX_DIR/sandbox.log" >&2; return 1; }
  SANDBOX_PORT="${SANDBOX_URL##*:}"
  say "schedulo-sandbox on $SANDBOX_URL (log: $SANDBOX_DIR/sandbox.log)"
}
