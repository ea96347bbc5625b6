"""mockdet load suite: Locust file for a detector orchestrator.

Two user classes, both concrete, so the runner picks one on the command line
(``locust -f locustfile_orchestration.py OrchestrationUser``) and the seed's
docker command (no class names) runs both by weight (9 : 1):

* ``OrchestrationUser`` -- single sync orchestrate 70, batch 20 (of
  ``ORCHESTRATION_PERF_BATCH_SIZE`` requests), async submit + status poll 5,
  health 5. Endpoints the target contract lacks (``batch_path`` /
  ``status_path`` null) give their share to the single request.
* ``FaultToleranceUser`` -- requests pinned to the failing and timeout
  detectors (200 or 206 expected: graceful degradation), ~40 KB contents
  (success or a clean 4xx expected) and malformed requests (a client error
  status expected; anything else, a 5xx above all, is a failure).

Every request uses ``catch_response=True`` and is marked success or failure
exactly once; nothing fires ``events.request`` by hand, so each request is
counted once. Requests are named by endpoint (``orchestrate``, ``batch``,
``async``, ``status``, ``health``, ``fault:required_failing``,
``fault:large``, ``fault:malformed``), which are the rows of ``--csv``
stats. Failure messages are stable strings (``HTTP 502``, ``HTTP 429 rate
limited``, ...) so the failures CSV groups them.

Status codes per request name (206s included, which Locust's own stats do
not show) are written as JSON at exit to ``MOCKDET_LOCUST_STATUS_PATH``, or
to ``<csv prefix>_status_codes.json`` when ``--csv`` is given; in
distributed mode workers send theirs to the master, which writes the file.

The target contract is the seed's (CONTRACT.md section 5) unless
``MOCKDET_PERF_CONTRACT`` names a JSON file; see perf/README.md.

``OrchestrationUser``'s tasks are tagged ``single``, ``batch``, ``async`` and
``health``: ``--tags batch`` (what ``mockdet perf``'s scalability cells use)
sends only batches, so the batch size is the one thing that varies.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections import Counter, defaultdict

import gevent
from locust import HttpUser, between, events, tag, task
from locust.runners import WorkerRunner

# ---------------------------------------------------------------- settings

_DETECTORS = [
    "mock-success-detector",
    "mock-variable-detector",
    "mock-failing-detector",
    "mock-timeout-detector",
    "mock-batch-detector",
]

PRESETS = {
    "seed": {
        "shape": "seed",
        "orchestrate_path": "/orchestrate",
        "batch_path": "/orchestrate/batch",
        "status_path": "/orchestrate/status/{job_id}",
        "health_path": "/health",
        "tenant_header": "X-Tenant-ID",
        "success_statuses": [200, 206],
        "async_statuses": [202],
        "client_error_statuses": [400, 422],
        # A job id the orchestrator no longer knows (evicted) answers 404.
        "status_ok_statuses": [200, 404],
        "detectors": _DETECTORS,
    },
    "api_v1": {
        "shape": "api_v1",
        "orchestrate_path": "/api/v1/orchestrate",
        "batch_path": None,
        "status_path": None,
        "health_path": "/api/v1/health",
        "tenant_header": "X-Tenant-ID",
        "success_statuses": [200],
        "async_statuses": [],
        "client_error_statuses": [400, 422],
        "status_ok_statuses": [200, 404],
        "detectors": _DETECTORS,
    },
}


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "")
    return value if value != "" else default


def _positive_int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {raw!r}")
    return value


def load_contract() -> dict:
    """The seed contract, or the file in MOCKDET_PERF_CONTRACT over its preset."""
    path = _env("MOCKDET_PERF_CONTRACT", "")
    overrides = {}
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                overrides = json.load(handle)
        except (OSError, ValueError) as error:
            raise ValueError(f"MOCKDET_PERF_CONTRACT={path}: {error}") from error
        if not isinstance(overrides, dict):
            raise ValueError(f"MOCKDET_PERF_CONTRACT={path}: must hold a JSON object")
    shape = overrides.get("shape") or "seed"
    if shape not in PRESETS:
        raise ValueError(f'contract: "shape" must be "seed" or "api_v1", got {shape!r}')
    contract = {**PRESETS[shape], **overrides, "shape": shape}
    for key in ("success_statuses", "async_statuses", "client_error_statuses", "status_ok_statuses"):
        codes = contract[key]
        if not isinstance(codes, list) or not all(isinstance(c, int) for c in codes):
            raise ValueError(f'contract: "{key}" must be a list of HTTP status codes')
    if not contract["success_statuses"]:
        raise ValueError('contract: "success_statuses" must not be empty')
    if not contract.get("orchestrate_path") or not contract.get("health_path"):
        raise ValueError('contract: "orchestrate_path" and "health_path" are required')
    detectors = contract.get("detectors")
    if not isinstance(detectors, list) or not detectors:
        raise ValueError('contract: "detectors" must be a non-empty list of detector names')
    return contract


CONTRACT = load_contract()
BASE_URL = _env("PERF_BASE_URL", "http://localhost:8000").rstrip("/")
TENANT = _env("ORCHESTRATION_PERF_TENANT_ID", "perf-tenant")
API_KEY = _env("ORCHESTRATION_PERF_API_KEY", "test-key")
API_KEY_HEADER = _env("ORCHESTRATION_PERF_API_KEY_HEADER", "X-API-Key")
POLICY_BUNDLE = _env("ORCHESTRATION_POLICY_BUNDLE", "default")
BATCH_SIZE = _positive_int("ORCHESTRATION_PERF_BATCH_SIZE", 5)
SCENARIO = _env("PERF_SCENARIO", "")
SUCCESS = set(CONTRACT["success_statuses"])
ASYNC = set(CONTRACT["async_statuses"])
CLIENT_ERRORS = set(CONTRACT["client_error_statuses"])
STATUS_OK = set(CONTRACT["status_ok_statuses"])
STATUS_POLLS = 3
REQUEST_TIMEOUT_S = 60

# ---------------------------------------------------------------- payloads

_PARAGRAPH = (
    "Section 4.2 of the services agreement sets out the data retention policy. "
    "Customer records are kept for seven years, audit logs for three, and backups are "
    "encrypted at rest. Incidents are reported to the data protection officer within 72 hours. "
)
DOCUMENT = ("Quarterly compliance review\n\n" + _PARAGRAPH * 30)[:5120]
LARGE_TEXT = (_PARAGRAPH * 200)[: 40 * 1024]

PAYLOADS = [
    ("clean_text", "text", "The quarterly report shows steady growth across all regions and no open incidents."),
    (
        "pii_text",
        "text",
        "Contact Jane Doe at jane.doe@example.com or +1-555-867-5309. "
        "Card on file: 4111 1111 1111 1111, exp 12/29. SSN 123-45-6789.",
    ),
    (
        "code_secret",
        "code",
        'const API_KEY = "sk_live_51H8xQ2eZvKYlo2C9a8b7c6d5";\n'
        "const query = \"SELECT * FROM users WHERE name = '\" + name + \"' OR '1'='1'\";\n"
        "db.execute(query);\n",
    ),
    ("document", "document", DOCUMENT),
]
PRIORITIES = ["normal", "normal", "normal", "high", "critical"]
V1_MODES = ["standard", "fast", "thorough", "comprehensive"]


def _faulty_pin(detectors: list) -> list:
    """The failing and timeout detectors plus one healthy one, so a partial
    answer (graceful degradation) is possible; all detectors if none match."""
    faulty = [d for d in detectors if "fail" in d or "timeout" in d]
    healthy = [d for d in detectors if d not in faulty]
    return faulty + healthy[:1] if faulty else list(detectors)


PINNED = _faulty_pin(CONTRACT["detectors"])


def body(scenario: str, endpoint: str, mode: str = "sync", payload=None, detectors=None) -> dict:
    """One orchestration body in the contract's shape."""
    kind, content_type, content = payload or random.choice(PAYLOADS)
    if CONTRACT["shape"] == "api_v1":
        return {
            "content": content,
            "detector_types": list(detectors or CONTRACT["detectors"]),
            "processing_mode": random.choice(V1_MODES),
            "policy_bundle": POLICY_BUNDLE,
        }
    request = {
        "content": content,
        "content_type": content_type,
        "tenant_id": TENANT,
        "policy_bundle": POLICY_BUNDLE,
        "environment": "perf",
        "processing_mode": mode,
        "priority": random.choice(PRIORITIES),
        "metadata": {"source": "locust", "scenario": scenario, "endpoint": endpoint, "payload": kind},
    }
    if detectors:
        request["required_detectors"] = list(detectors)
    return request


def headers(idempotent: bool = False, json_body: bool = True) -> dict:
    values = {
        "X-Correlation-ID": f"locust-{uuid.uuid4()}",
        API_KEY_HEADER: API_KEY,
        CONTRACT.get("tenant_header") or "X-Tenant-ID": TENANT,
    }
    if json_body:
        values["Content-Type"] = "application/json"
    if idempotent:
        values["Idempotency-Key"] = f"locust-{uuid.uuid4()}"
    return values


# ---------------------------------------------------------------- status codes

# name -> status code -> count, plus partial-coverage replies per name.
STATUS_COUNTS: dict = defaultdict(Counter)
PARTIAL: Counter = Counter()


def _parsed(response):
    try:
        return response.json()
    except Exception:  # noqa: BLE001 - any undecodable body is just "no JSON"
        return None


def _is_partial(status: int, reply) -> bool:
    if status == 206:
        return True
    if isinstance(reply, dict):
        reply = reply.get("data", reply)
        coverage = reply.get("coverage_achieved") if isinstance(reply, dict) else None
        return isinstance(coverage, (int, float)) and coverage < 1
    return False


def _problem(response) -> str:
    """A stable failure label for an unexpected status."""
    code = response.status_code
    if not code:
        error = getattr(response, "error", None)
        return f"transport error: {type(error).__name__ if error else 'no response'}"
    if code == 429:
        return "HTTP 429 rate limited"
    return f"HTTP {code}"


def settle(name: str, response, ok: bool, why: str = "") -> None:
    """Marks `response` success or failure (once) and tallies its status."""
    STATUS_COUNTS[name][str(response.status_code or 0)] += 1
    if ok:
        response.success()
    else:
        response.failure(why or _problem(response))


# Every request's response time (ms) and status, one `ms,status` line each,
# when MOCKDET_LOCUST_SAMPLES names a file (`mockdet perf --samples`): the
# client-observed samples `mockdet fit` reads. Each process (master or
# worker) appends whole lines with O_APPEND, so workers share the file.
_SAMPLES_PATH = os.environ.get("MOCKDET_LOCUST_SAMPLES")
_SAMPLES = []


@events.request.add_listener
def _sample(response_time, response=None, exception=None, **_kwargs):
    if not _SAMPLES_PATH:
        return
    status = getattr(response, "status_code", 0) or 0
    _SAMPLES.append(f"{response_time:.3f},{0 if exception and not status else status}\n")
    if len(_SAMPLES) >= 200:
        _flush_samples()


def _flush_samples():
    if _SAMPLES_PATH and _SAMPLES:
        with open(_SAMPLES_PATH, "a", encoding="utf-8") as out:
            out.write("".join(_SAMPLES))
        _SAMPLES.clear()


@events.report_to_master.add_listener
def _send_counts(client_id, data):
    data["mockdet_status_counts"] = {k: dict(v) for k, v in STATUS_COUNTS.items()}
    data["mockdet_partial"] = dict(PARTIAL)
    STATUS_COUNTS.clear()
    PARTIAL.clear()


@events.worker_report.add_listener
def _merge_counts(client_id, data):
    for name, codes in data.get("mockdet_status_counts", {}).items():
        STATUS_COUNTS[name].update(codes)
    PARTIAL.update(data.get("mockdet_partial", {}))


_ENVIRONMENT = []


@events.init.add_listener
def _remember(environment, **_kwargs):
    _ENVIRONMENT.append(environment)


@events.quit.add_listener
def _flush_samples_at_quit(**_kwargs):
    _flush_samples()


# `quit` fires after the runner has stopped (workers' last reports are in),
# where `quitting` fires before; it carries no environment, hence `init`.
@events.quit.add_listener
def _write_counts(**_kwargs):
    if not _ENVIRONMENT or isinstance(_ENVIRONMENT[-1].runner, WorkerRunner):
        return
    environment = _ENVIRONMENT[-1]
    path = _env("MOCKDET_LOCUST_STATUS_PATH", "")
    prefix = getattr(environment.parsed_options, "csv_prefix", None) if environment.parsed_options else None
    if not path and prefix:
        path = f"{prefix}_status_codes.json"
    if not path:
        return
    document = {
        "status_codes": {k: dict(sorted(v.items())) for k, v in sorted(STATUS_COUNTS.items())},
        "partial_coverage": dict(sorted(PARTIAL.items())),
        "batch_size": BATCH_SIZE,
        "contract": CONTRACT,
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)


# ---------------------------------------------------------------- users


class _Orchestrator:
    """Request helpers shared by both users (a mixin, not a User)."""

    scenario = "locust"

    def orchestrate(self, name: str, payload: dict, accept: set, idempotent: bool = False, why: str = ""):
        """POSTs one orchestration; success iff the status is in `accept`."""
        with self.client.post(
            CONTRACT["orchestrate_path"],
            json=payload,
            headers=headers(idempotent),
            name=name,
            timeout=REQUEST_TIMEOUT_S,
            catch_response=True,
        ) as response:
            ok = response.status_code in accept
            reply = _parsed(response) if ok else None
            if ok and _is_partial(response.status_code, reply):
                PARTIAL[name] += 1
            settle(name, response, ok, "" if ok or not why else f"{why}, got {_problem(response)}")
            return reply


class OrchestrationUser(_Orchestrator, HttpUser):
    """The seed's weighted mix: single 70, batch 20, async 5, health 5."""

    weight = 9
    wait_time = between(0.5, 1.5)
    host = BASE_URL

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scenario = SCENARIO or "orchestration"

    @tag("single")
    @task(70)
    def single(self):
        self.orchestrate("orchestrate", body(self.scenario, "orchestrate"), SUCCESS, idempotent=random.random() < 0.1)

    @tag("batch")
    @task(20)
    def batch(self):
        if not CONTRACT.get("batch_path"):
            return self.single()
        payload = {"requests": [body(self.scenario, "batch") for _ in range(BATCH_SIZE)]}
        with self.client.post(
            CONTRACT["batch_path"],
            json=payload,
            headers=headers(),
            name="batch",
            timeout=REQUEST_TIMEOUT_S,
            catch_response=True,
        ) as response:
            if response.status_code not in SUCCESS:
                return settle("batch", response, False)
            reply = _parsed(response)
            reply = reply.get("data", reply) if isinstance(reply, dict) else None
            results = reply.get("results") if isinstance(reply, dict) else None
            if not isinstance(results, list) or len(results) != BATCH_SIZE:
                got = len(results) if isinstance(results, list) else "no"
                return settle("batch", response, False, f"batch: {got} results for {BATCH_SIZE} requests")
            for item in results:
                code = item.get("status_code", item.get("status")) if isinstance(item, dict) else None
                if isinstance(code, int):
                    STATUS_COUNTS["batch:item"][str(code)] += 1
                    if code in SUCCESS and _is_partial(code, item):
                        PARTIAL["batch:item"] += 1
            settle("batch", response, True)

    @tag("async")
    @task(5)
    def async_job(self):
        if not CONTRACT.get("status_path"):
            return self.single()
        reply = self.orchestrate("async", body(self.scenario, "async", mode="async"), SUCCESS | ASYNC)
        job_id = None
        if isinstance(reply, dict):
            job_id = reply.get("job_id") or (reply.get("data") or {}).get("job_id")
        if not job_id:
            return None
        path = CONTRACT["status_path"].replace("{job_id}", str(job_id))
        for _ in range(STATUS_POLLS):
            gevent.sleep(0.5)
            with self.client.get(
                path,
                headers=headers(json_body=False),
                name="status",
                timeout=REQUEST_TIMEOUT_S,
                catch_response=True,
            ) as response:
                ok = response.status_code in STATUS_OK
                job = _parsed(response) if response.status_code == 200 else None
                settle("status", response, ok)
            if not isinstance(job, dict) or job.get("status") not in ("running", "pending", "queued"):
                return None
        return None

    @tag("health")
    @task(5)
    def health(self):
        with self.client.get(
            CONTRACT["health_path"],
            headers=headers(json_body=False),
            name="health",
            timeout=REQUEST_TIMEOUT_S,
            catch_response=True,
        ) as response:
            settle("health", response, response.status_code == 200)


def _malformed_cases():
    """(variant, raw body) pairs every orchestrator must refuse with a 4xx."""
    good = body("fault_tolerance", "fault:malformed", payload=PAYLOADS[0])
    cases = [
        ("invalid_json", '{"content": "unterminated'),
        ("empty_content", json.dumps({**good, "content": ""})),
    ]
    if CONTRACT["shape"] == "api_v1":
        cases.append(("unknown_field", json.dumps({**good, "unexpected_field": True})))
        cases.append(("missing_fields", json.dumps({"content": good["content"]})))
    else:
        cases.append(("unknown_content_type", json.dumps({**good, "content_type": "image/png"})))
        cases.append(("missing_fields", json.dumps({"tenant_id": TENANT, "policy_bundle": POLICY_BUNDLE})))
    return cases


MALFORMED = _malformed_cases()


class FaultToleranceUser(_Orchestrator, HttpUser):
    """Graceful degradation, large contents and malformed requests."""

    weight = 1
    wait_time = between(0.5, 1.5)
    host = BASE_URL

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scenario = SCENARIO or "fault_tolerance"

    @task(5)
    def required_failing(self):
        # Text: the failing detector takes only text and documents.
        payload = body(self.scenario, "fault:required_failing", payload=PAYLOADS[1], detectors=PINNED)
        self.orchestrate("fault:required_failing", payload, SUCCESS, why="expected a (partial) success")

    @task(2)
    def large(self):
        payload = body(self.scenario, "fault:large", payload=("large_text", "text", LARGE_TEXT))
        accept = SUCCESS | CLIENT_ERRORS | {413}
        self.orchestrate("fault:large", payload, accept, why="expected a success or a clean 4xx")

    @task(3)
    def malformed(self):
        variant, raw = random.choice(MALFORMED)
        with self.client.post(
            CONTRACT["orchestrate_path"],
            data=raw,
            headers=headers(),
            name="fault:malformed",
            timeout=REQUEST_TIMEOUT_S,
            catch_response=True,
        ) as response:
            ok = response.status_code in CLIENT_ERRORS
            why = f"malformed {variant}: expected {sorted(CLIENT_ERRORS)}, got {_problem(response)}"
            settle("fault:malformed", response, ok, why)
