#!/usr/bin/env bash
# Keep an SSH tunnel to the office server open, reconnecting with backoff when it drops.
#
#   scripts/tunnel.sh user@office-server                 # the app: http://localhost:8501
#   scripts/tunnel.sh user@office-server --local-port 8502
#   scripts/tunnel.sh user@office-server --db            # the database, for an app on this laptop
#
# The app and the database listen on the server's localhost only, so the tunnel is the way in.
# Stop it with Ctrl-C. Keys (ssh-agent) avoid typing a passphrase at every reconnection.
#
# For tests and tuning, from the environment: TUNNEL_BACKOFF_START (seconds, default 2),
# TUNNEL_BACKOFF_MAX (default 60), TUNNEL_STABLE_SECONDS (a connection that lasted this long
# resets the backoff, default 60), TUNNEL_MAX_ATTEMPTS (0 = forever, the default).
set -uo pipefail

usage() {
  cat <<'EOF'
usage: scripts/tunnel.sh USER@HOST [--local-port N] [--remote-port N] [--db]

  --local-port N   port on this machine (default 8501; 27017 with --db)
  --remote-port N  port on the server's localhost (default 8501; 27017 with --db)
  --db             tunnel to the database instead of the app (for running the app here)
EOF
}

die() { echo "tunnel.sh: $*" >&2; exit 2; }

port_number() {  # validate a port given on the command line
  [[ "$2" =~ ^[0-9]+$ ]] && (( 10#$2 >= 1 && 10#$2 <= 65535 )) || die "$1 must be a port (1-65535), got '$2'"
  echo $(( 10#$2 ))
}

target="" local_port="" remote_port="" db_mode=0
while (( $# )); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --db) db_mode=1 ;;
    --local-port|--remote-port)
      (( $# >= 2 )) || die "$1 needs a value"
      value=$(port_number "$1" "$2") || exit 2
      [[ "$1" == --local-port ]] && local_port=$value || remote_port=$value
      shift ;;
    --local-port=*) local_port=$(port_number --local-port "${1#*=}") || exit 2 ;;
    --remote-port=*) remote_port=$(port_number --remote-port "${1#*=}") || exit 2 ;;
    -*) usage >&2; die "unknown option $1" ;;
    *) [[ -z "$target" ]] || die "only one USER@HOST, got '$target' and '$1'"
       target=$1 ;;
  esac
  shift
done
[[ -n "$target" ]] || { usage >&2; exit 2; }

default_port=8501
(( db_mode )) && default_port=27017
local_port=${local_port:-$default_port}
remote_port=${remote_port:-$default_port}

# ExitOnForwardFailure would make ssh fail on a busy port at every attempt; say why once instead.
if (exec 3<>"/dev/tcp/127.0.0.1/$local_port") 2>/dev/null; then
  echo "tunnel.sh: port $local_port is already in use on this machine (another tunnel, or the" \
       "app running here?); choose another with --local-port." >&2
  exit 1
fi

ssh_command=(ssh -N
  -o ServerAliveInterval=30 -o ServerAliveCountMax=3   # notice a dead link within ~90 s
  -o ExitOnForwardFailure=yes                          # no "connected" tunnel that forwards nothing
  -o ConnectTimeout=15
  -L "$local_port:localhost:$remote_port" "$target")

if (( db_mode )); then
  echo "Database tunnel: localhost:$local_port on this machine -> port $remote_port on ${target#*@}."
  echo "Put this in .env on this machine (your database user; URL-quote special characters):"
  # directConnection: through a tunnel the driver must not switch to the replica set's own
  # host names, which this machine cannot reach.
  echo "MONGO_URI=mongodb://USER:PASSWORD@localhost:$local_port/?authSource=admin&directConnection=true"
else
  echo "Open http://localhost:$local_port"
fi
echo "(Ctrl-C closes the tunnel.)"

child=""  # the ssh (or the sleep between attempts) running now
stop() {
  # Every background job, not only "$child": a Ctrl-C right after ssh was started, before
  # bash noted its pid, must not leave that ssh behind (seen on a busy machine).
  local running
  running=$(jobs -p)
  if [[ -n "$running" ]]; then
    kill $running 2>/dev/null
    wait $running 2>/dev/null
  fi
  echo "Tunnel closed." >&2
  exit 0
}
trap stop INT TERM

backoff_start=${TUNNEL_BACKOFF_START:-2}
backoff_max=${TUNNEL_BACKOFF_MAX:-60}
stable_seconds=${TUNNEL_STABLE_SECONDS:-60}
max_attempts=${TUNNEL_MAX_ATTEMPTS:-0}
delay=$backoff_start
attempt=0
while :; do
  attempt=$(( attempt + 1 ))
  started=$SECONDS
  # In the background so that Ctrl-C reaches the trap at once, not after ssh returns.
  # ssh reads a passphrase or a host-key answer from the terminal, not from stdin.
  "${ssh_command[@]}" &
  child=$!
  # Waited for in steps of two seconds: a Ctrl-C that lands while bash is still starting ssh
  # (before `wait` began; seen on a busy machine) is then acted on within two seconds instead of
  # when ssh ends. Any other Ctrl-C ends the wait at once.
  while kill -0 "$child" 2>/dev/null; do
    sleep 2 &
    wait $!
  done
  wait "$child"
  status=$?
  child=""
  if (( SECONDS - started >= stable_seconds )); then
    delay=$backoff_start  # it was up for a while: this is a fresh drop, not a failing server
  fi
  if (( max_attempts > 0 && attempt >= max_attempts )); then
    echo "tunnel.sh: ssh exited with status $status; giving up after $attempt attempts." >&2
    exit 1
  fi
  echo "tunnel.sh: ssh exited with status $status; reconnecting in ${delay}s (attempt $(( attempt + 1 )))." >&2
  sleep "$delay" &
  child=$!
  wait "$child"
  child=""
  delay=$(( delay * 2 ))
  (( delay > backoff_max )) && delay=$backoff_max
done
