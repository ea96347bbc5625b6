"""What every client script in this folder shares: how a check fails, and
how one phase is run from the command line (BASE_URL PHASE, loopback only)
and reported (one JSON line naming the SDK and its version)."""

import json
import os
import sys
from importlib.metadata import version
from urllib.parse import urlsplit


def check(ok, message):
    """Exits 1, saying why on stderr, unless `ok`."""
    if not ok:
        print(f"{os.path.basename(sys.argv[0])}: {message}", file=sys.stderr)
        sys.exit(1)


def run(sdk, phases, call=lambda phase, base_url: phase(base_url)):
    """Runs the phase named on the command line against BASE_URL (which must
    be on loopback) with `call`, and prints its details as one JSON line."""
    if len(sys.argv) != 3 or sys.argv[2] not in phases:
        print(f"usage: {sys.argv[0]} BASE_URL {{{','.join(phases)}}}", file=sys.stderr)
        sys.exit(2)
    base_url, phase = sys.argv[1].rstrip("/"), sys.argv[2]
    host = urlsplit(base_url).hostname
    check(host in ("127.0.0.1", "localhost", "::1"), f"{base_url} is not a loopback URL")
    details = call(phases[phase], base_url)
    print(json.dumps({"sdk": sdk, "version": version(sdk), "phase": phase, **details}))
