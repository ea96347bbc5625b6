#!/usr/bin/env bash
# Installs the official client SDKs that tests/official_clients_parse_our_answers.rs
# drives (OpenAI, Azure AI Content Safety, LiteLLM), the schemathesis that
# cli/tests/the_http_contract_survives_schemathesis.rs runs and the
# kubernetes-validate that cli/tests/packaging_kubernetes_manifests_are_valid.rs
# runs (all pinned in tests/clients/requirements.txt) from PyPI into a venv at
# ${XDG_CACHE_HOME:-$HOME/.cache}/mockdet/clients. The venv records a hash of
# the requirements and of the Python that built it; when both still match,
# this is a no-op, so repeated runs are fast. Wheels only, no stdin; needs
# python3 (3.11) with venv (or virtualenv) and pip; prints nothing unless
# something fails.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=tests/clients/requirements.txt
python=${PYTHON:-python3}

# The same rule as the test (and `mockdet perf setup`): XDG_CACHE_HOME only
# when it is an absolute path.
cache=${XDG_CACHE_HOME:-}
case "$cache" in
  /*) ;;
  *) cache="$HOME/.cache" ;;
esac
venv="$cache/mockdet/clients"
stamp="$venv/.requirements.sha256"

want=$({ cat "$requirements"; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)
installed() {
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$venv/bin/python" -c '' 2>/dev/null
}
installed && exit 0

mkdir -p "$(dirname "$venv")"
# One install at a time; a second run waits, then finds the stamp written.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$venv.lock"
  flock 9
  installed && exit 0
fi

export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1
make_venv() {
  "$python" -m venv "$venv" >/dev/null 2>&1 && return 0
  # No ensurepip (Debian's python3 without python3-venv): virtualenv brings its own pip.
  rm -rf "$venv"
  if "$python" -m pip install --quiet virtualenv </dev/null >/dev/null 2>&1 \
    && "$python" -m virtualenv --quiet "$venv" </dev/null; then
    return 0
  fi
  rm -rf "$venv"
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    "$python" -m venv "$venv" && return 0
  fi
  echo "scripts/clients-setup.sh: cannot create a venv with $python (install python3-venv or virtualenv)" >&2
  return 1
}

# A venv whose Python no longer runs (moved, or its interpreter upgraded) is rebuilt.
if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
  if [ -e "$venv" ] && [ ! -f "$venv/pyvenv.cfg" ]; then
    echo "scripts/clients-setup.sh: $venv exists and is not a venv; remove it" >&2
    exit 1
  fi
  rm -rf "$venv"
  make_venv
fi

rm -f "$stamp"
"$venv/bin/python" -m pip install --quiet --only-binary=:all: -r "$requirements" </dev/null
echo "$want" >"$stamp"
