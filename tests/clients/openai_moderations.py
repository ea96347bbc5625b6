"""mockdet's OpenAI moderations wire, driven by the official `openai` SDK.

usage: openai_moderations.py BASE_URL PHASE

BASE_URL is a loopback detector URL (http://127.0.0.1:PORT); the SDK is
pointed at BASE_URL/v1. PHASE is one of:

  parse         clean text, a threat, a list of strings and a text+image
                list of parts, parsed leniently (the SDK's default) and
                strictly (_strict_response_validation=True)
  retried       the caller injected one 429: the SDK's default retry policy
                retries it and the call succeeds, one retry taken
  rate-limited  the caller injected one 429: with max_retries=0 it surfaces
                as openai.RateLimitError (code rate_limit_exceeded, type
                requests)
  server-error  the caller injected one 500: with max_retries=0 it surfaces
                as openai.InternalServerError

Prints one JSON line on success; on a failed check, says what on stderr and
exits 1.
"""

import openai
from harness import check, run
from openai import OpenAI

THREAT = "I will kill you"
CLEAN = "The weather is lovely today."
# A 1x1 PNG.
PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
    "2mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
CATEGORY_COUNT = 13


def client(base_url, **kwargs):
    return OpenAI(base_url=base_url + "/v1", api_key="test", timeout=20.0, **kwargs)


def categories_of(result):
    """The result's maps as plain dicts keyed by the wire names."""
    dumped = result.model_dump(by_alias=True)
    return (
        dumped["categories"],
        dumped["category_scores"],
        dumped["category_applied_input_types"],
    )


def check_complete(result, what):
    flags, scores, types = categories_of(result)
    for name, mapping in [
        ("categories", flags),
        ("category_scores", scores),
        ("category_applied_input_types", types),
    ]:
        present = [k for k, v in mapping.items() if v is not None]
        check(
            len(present) == CATEGORY_COUNT,
            f"{what}: {name} has {len(present)} categories, not {CATEGORY_COUNT}: {mapping}",
        )
    for name, score in scores.items():
        check(0.0 <= score <= 1.0, f"{what}: score of {name} is {score}")
    check(
        result.flagged == any(flags.values()),
        f"{what}: flagged is {result.flagged} but categories are {flags}",
    )


def phase_parse(base_url):
    summary = {}
    for strict in (False, True):
        sdk = client(base_url, _strict_response_validation=strict)
        label = "strict" if strict else "lenient"

        clean = sdk.moderations.create(input=CLEAN)
        check(len(clean.results) == 1, f"{label}: one string, {len(clean.results)} results")
        check_complete(clean.results[0], f"{label} clean")
        check(not clean.results[0].flagged, f"{label}: clean text flagged: {clean.results[0]}")
        check(
            clean.model == "omni-moderation-latest",
            f"{label}: no model asked, {clean.model!r} answered",
        )
        check(clean.id.startswith("modr-"), f"{label}: id {clean.id!r}")

        threat = sdk.moderations.create(input=THREAT, model="omni-moderation-2024-09-26")
        result = threat.results[0]
        check_complete(result, f"{label} threat")
        check(result.flagged, f"{label}: {THREAT!r} not flagged: {result}")
        check(result.categories.violence is True, f"{label}: violence not flagged: {result.categories}")
        check(
            result.category_scores.violence >= 0.5,
            f"{label}: violence scores {result.category_scores.violence}",
        )
        check(
            result.category_applied_input_types.violence == ["text"],
            f"{label}: violence applied to {result.category_applied_input_types.violence}",
        )
        check(
            threat.model == "omni-moderation-2024-09-26",
            f"{label}: model not echoed: {threat.model!r}",
        )

        several = sdk.moderations.create(input=[CLEAN, THREAT, "mail jo@example.com"])
        flagged = [r.flagged for r in several.results]
        check(flagged == [False, True, False], f"{label}: three strings flagged {flagged}")

        parts = sdk.moderations.create(
            input=[
                {"type": "text", "text": THREAT},
                {"type": "image_url", "image_url": {"url": PNG}},
            ],
            model="omni-moderation-latest",
        )
        check(len(parts.results) == 1, f"{label}: one list of parts, {len(parts.results)} results")
        result = parts.results[0]
        check_complete(result, f"{label} parts")
        check(result.categories.violence is True, f"{label}: parts: violence not flagged")
        applied = result.category_applied_input_types
        check(
            sorted(applied.violence) == ["image", "text"],
            f"{label}: parts: violence applied to {applied.violence}",
        )
        check(applied.hate == ["text"], f"{label}: parts: text-only hate applied to {applied.hate}")
        summary[label] = {
            "threat_violence": result.category_scores.violence,
            "list_results": len(several.results),
        }
    return summary


def phase_retried(base_url):
    raw = client(base_url).moderations.with_raw_response.create(input=THREAT)
    parsed = raw.parse()
    check(raw.retries_taken == 1, f"{raw.retries_taken} retries taken, not 1")
    check(parsed.results[0].flagged, f"the retried answer is not flagged: {parsed}")
    return {"retries_taken": raw.retries_taken, "status": raw.status_code}


def phase_rate_limited(base_url):
    try:
        client(base_url, max_retries=0).moderations.create(input=CLEAN)
    except openai.RateLimitError as e:
        check(e.status_code == 429, f"status {e.status_code}")
        check(e.code == "rate_limit_exceeded", f"code {e.code!r}")
        check(e.type == "requests", f"type {e.type!r}")
        check(e.response.headers.get("retry-after") is not None, "no retry-after header")
        return {"error": type(e).__name__, "code": e.code, "type": e.type}
    check(False, "an injected 429 did not raise RateLimitError")


def phase_server_error(base_url):
    try:
        client(base_url, max_retries=0).moderations.create(input=CLEAN)
    except openai.InternalServerError as e:
        check(e.status_code == 500, f"status {e.status_code}")
        check(e.type == "server_error", f"type {e.type!r}")
        return {"error": type(e).__name__, "status": e.status_code}
    check(False, "an injected 500 did not raise InternalServerError")


PHASES = {
    "parse": phase_parse,
    "retried": phase_retried,
    "rate-limited": phase_rate_limited,
    "server-error": phase_server_error,
}


def main():
    run("openai", PHASES)


if __name__ == "__main__":
    main()
