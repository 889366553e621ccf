#!/usr/bin/env bash
# Proves the container: builds the image from the Dockerfile, runs docker-compose.yml (API, worker,
# PostgreSQL, Redis) with podman-compose, and drives one booking and one text message through it
# (drive_stack.py), Twilio faked on this machine by tests/fakes/twilio_server.py.
#
# No container registry is reachable here, so every base image is built from Debian's packages:
# debootstrap a minimal bookworm with Python 3.11 and its venv module, import it with podman, and
# build PostgreSQL (postgresql-15) and Redis (redis-server) images on it that start the way the
# official images do. Run as root from the repository (the host's .venv drives the stack):
#
#   deploy/container/verify-container.sh          # KEEP=1 leaves the stack running afterwards
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${WORK_DIR:-/var/tmp/frontdesk-container}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
port=${FRONTDESK_PORT:-18000}
twilio_port=${FAKE_TWILIO_PORT:-18001}
python=${PYTHON:-$repo/.venv/bin/python}
base_image=localhost/frontdesk-debian:bookworm
project=frontdesk-verify
clinic_number=+15005550006
# The fake Twilio's account: it refuses any other (401), as Twilio would.
read -r twilio_sid twilio_token < <(cd "$repo" && "$python" -c \
    "from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN; print(ACCOUNT_SID, AUTH_TOKEN)")

say() { printf '\n== %s\n' "$*"; }

if ! command -v podman-compose > /dev/null || ! command -v debootstrap > /dev/null || ! command -v runc > /dev/null; then
    say "installing podman, podman-compose, debootstrap and runc from Debian"
    apt-get install -y -q podman podman-compose debootstrap runc > /dev/null
fi
mkdir -p "$work"

# This machine's podman: runc (crun refuses the VM's hybrid cgroups) and limits no higher than this
# shell's (a container may not raise them).
cat > "$work/containers.conf" << CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=16384:16384"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$work/containers.conf

if ! podman image exists "$base_image"; then
    say "building $base_image from Debian's packages (debootstrap)"
    rootfs=$work/rootfs
    rm -rf "$rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" "$mirror" > "$work/debootstrap.log"
    # Trust what this machine trusts (an egress proxy's authority, say) so apt and pip work inside.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" > /dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
        chroot "$rootfs" update-ca-certificates > /dev/null
    fi
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$rootfs/etc/pip.conf"
    rm -rf "$rootfs/var/cache/apt/archives/"*.deb
    tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$base_image" > /dev/null 2>&1
    rm -rf "$rootfs"
fi

say "building PostgreSQL and Redis images on it"
podman build -q -t localhost/frontdesk-postgres:15 --build-arg BASE_IMAGE=$base_image -f "$here/postgres.Containerfile" "$here"
podman build -q -t localhost/frontdesk-redis:7 --build-arg BASE_IMAGE=$base_image -f "$here/redis.Containerfile" "$here"

postgres_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
env_file=$work/env.production
(
    umask 077
    cat > "$env_file" << ENV
ENVIRONMENT=production
DATABASE_URL=postgresql://frontdesk:$postgres_password@postgres:5432/frontdesk
REDIS_URL=redis://redis:6379/0
ADMIN_SECRET=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
SECRETS_KEYS=$(cd "$repo" && "$python" -c "from backend.core.crypto import KeyRing; print(KeyRing.new_key('k1'))")
PUBLIC_BASE_URL=http://127.0.0.1:$port
TWILIO_ACCOUNT_SID=$twilio_sid
TWILIO_AUTH_TOKEN=$twilio_token
TWILIO_FROM_NUMBER=$clinic_number
TWILIO_API_BASE_URL=http://host.containers.internal:$twilio_port
ENV
)
export POSTGRES_PASSWORD=$postgres_password FRONTDESK_ENV_FILE=$env_file FRONTDESK_PORT=$port \
    PYTHON_IMAGE=$base_image POSTGRES_IMAGE=localhost/frontdesk-postgres:15 REDIS_IMAGE=localhost/frontdesk-redis:7
compose() { podman-compose -p "$project" -f "$repo/docker-compose.yml" "$@"; }

twilio_pid=
cleanup() {
    status=$?
    if [ "$status" != 0 ]; then
        say "failed; the last lines of each container's log"
        for name in $(podman ps -a --filter "label=io.podman.compose.project=$project" --format '{{.Names}}'); do
            echo "-- $name"; podman logs --tail 30 "$name" 2>&1 || true
        done
    fi
    [ -n "$twilio_pid" ] && kill "$twilio_pid" 2> /dev/null
    if [ "${KEEP:-0}" != 1 ]; then compose down -v > /dev/null 2>&1 || true; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for taken in "$port" "$twilio_port"; do
    if ss -ltn "sport = :$taken" | grep -q LISTEN; then echo "port $taken is in use (FRONTDESK_PORT / FAKE_TWILIO_PORT)"; exit 1; fi
done

say "the fake Twilio on port $twilio_port"
(cd "$repo" && exec "$python" -m tests.fakes.twilio_server "$twilio_port" --host 0.0.0.0) &
twilio_pid=$!

say "building the image and starting the stack"
compose down -v > /dev/null 2>&1 || true
compose build > "$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
compose up -d > "$work/up.log" 2>&1 || { tail -40 "$work/up.log"; exit 1; }

say "waiting for /ready (migrations run first; minutes on a busy machine)"
for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:$port/ready" > /dev/null 2>&1; then break; fi
    sleep 2
done
curl -fsS "http://127.0.0.1:$port/ready"; echo
podman ps --filter "label=io.podman.compose.project=$project" --format '{{.Names}}  {{.Image}}  {{.Status}}'
# podman runs healthchecks from systemd timers, which this machine lacks: run each one once.
for name in $(podman ps --filter "label=io.podman.compose.project=$project" --format '{{.Names}}'); do
    for _ in $(seq 1 30); do podman healthcheck run "$name" > /dev/null 2>&1 && break; sleep 2; done
    podman healthcheck run "$name" > /dev/null 2>&1 && echo "$name: healthcheck passed" || { echo "$name: healthcheck failed"; exit 1; }
done

say "the demo clinic, seeded inside the API container"
api_container=$(podman ps --filter "label=io.podman.compose.project=$project" --filter "label=com.docker.compose.service=api" --format '{{.Names}}' | head -1)
key=$(podman exec "$api_container" frontdesk seed-demo | sed -n 's/^ *API key: *//p')
[ -n "$key" ] || { echo "seed-demo printed no API key"; exit 1; }

say "one booking and one text through the stack"
(cd "$repo" && "$python" "$here/drive_stack.py" --api "http://127.0.0.1:$port" --key "$key" \
    --twilio "http://127.0.0.1:$twilio_port" --auth-token "$twilio_token" --number "$clinic_number")
say "the container works: image built, stack up, a booking and a text went through"
