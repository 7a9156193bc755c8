#!/usr/bin/env bash
# Make a Docker engine and a base image available for building the pipe image, then export
#   PIPE_TEST_BASE_IMAGE  the base image to build FROM ("" = the Dockerfile's default)
# and copy pip's CA bundle ($PIP_CERT) into build/pip-ca.crt, the optional build-stage file the
# Dockerfile picks up (build/ is git-ignored; the file never reaches the final image).
#
#   source scripts/docker-env.sh            # engine + variables in the current shell
#   scripts/docker-env.sh build [TAG]       # ... and build the image (default airtable-coda-sync:dev)
#   scripts/docker-env.sh print             # print the base image name only
#
# The engine is started with ../shared/tools/docker-sandbox (override the shared folder with
# AIRTABLE_CODA_SYNC_SHARED) only when `docker info` fails; a running engine (Bitbucket's docker
# service, Docker Desktop) is used as it is, with the Dockerfile's default base image unless
# PIPE_TEST_BASE_IMAGE is set.

_ace_main() {
  local repo shared sandbox cert
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  shared="${AIRTABLE_CODA_SYNC_SHARED:-$repo/../shared}"
  sandbox="$shared/tools/docker-sandbox"

  if ! docker info >/dev/null 2>&1; then
    if [[ ! -x $sandbox ]]; then
      echo "docker-env: no Docker engine answers and $sandbox is missing" >&2
      return 1
    fi
    PIPE_TEST_BASE_IMAGE="$("$sandbox" | tail -n 1)" || return 1
  elif [[ -z ${PIPE_TEST_BASE_IMAGE:-} && -x $sandbox ]] \
      && docker image inspect local/debian-python:bookworm >/dev/null 2>&1; then
    # an engine started earlier by the sandbox script: reuse its base image (the script is idempotent)
    PIPE_TEST_BASE_IMAGE="$("$sandbox" | tail -n 1)" || return 1
  fi
  export PIPE_TEST_BASE_IMAGE="${PIPE_TEST_BASE_IMAGE:-}"

  cert="${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}"
  if [[ -n ${PIPE_TEST_BASE_IMAGE} && -f $cert ]]; then
    mkdir -p "$repo/build"
    cmp -s "$cert" "$repo/build/pip-ca.crt" || cp "$cert" "$repo/build/pip-ca.crt"
  fi
  return 0
}

_ace_build() {
  local repo tag args=()
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  tag="${1:-airtable-coda-sync:dev}"
  local old new
  [[ -n ${PIPE_TEST_BASE_IMAGE} ]] && args+=(--build-arg "BASE_IMAGE=$PIPE_TEST_BASE_IMAGE")
  old="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
  docker build --network host "${args[@]}" -t "$tag" "$repo" || return 1
  new="$(docker image inspect --format '{{.Id}}' "$tag")"
  # drop the image this tag named before (vfs keeps a full file-system copy per layer)
  if [[ -n $old && $old != "$new" ]]; then docker image rm "$old" >/dev/null 2>&1 || true; fi
}

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
  _ace_main
else
  set -euo pipefail
  _ace_main
  case "${1:-print}" in
    print) echo "${PIPE_TEST_BASE_IMAGE}" ;;
    build) shift; _ace_build "$@" ;;
    *) echo "usage: $0 [print|build [TAG]]" >&2; exit 2 ;;
  esac
fi
