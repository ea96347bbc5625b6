"""mockdet's LiteLLM generic guardrail wire, driven by LiteLLM's own
`GenericGuardrailAPI` (the class behind `guardrail: generic_guardrail_api`),
offline: no proxy, no LLM.

usage: litellm_guardrail.py BASE_URL PHASE

BASE_URL is a loopback detector URL (http://127.0.0.1:PORT), the guardrail's
api_base. PHASE is one of:

  guardrail    clean text passes unchanged; PII comes back masked; a threat
               raises GuardrailRaisedException with mockdet's blocked_reason
  unavailable  the caller injected one 503: the default (fail_closed) raises
               "Generic Guardrail API failed", without a retry

Prints one JSON line on success; on a failed check, says what on stderr and
exits 1.
"""

import os

# Before litellm is imported: read the bundled model cost map instead of
# fetching it from GitHub.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import asyncio  # noqa: E402

from harness import check, run  # noqa: E402
from litellm.exceptions import GuardrailRaisedException  # noqa: E402
from litellm.proxy.guardrails.guardrail_hooks.generic_guardrail_api import (  # noqa: E402
    GenericGuardrailAPI,
)

THREAT = "I will kill you"
CLEAN = "The weather is lovely today."
EMAIL = "jo@example.com"
PII = f"Write to {EMAIL} tomorrow"


def guardrail(base_url):
    return GenericGuardrailAPI(
        api_base=base_url, guardrail_name="mockdet", event_hook="pre_call", timeout=5
    )


async def apply(g, texts):
    return await g.apply_guardrail(
        inputs={"texts": texts}, request_data={}, input_type="request"
    )


async def phase_guardrail(base_url):
    g = guardrail(base_url)
    check(
        g.api_base == base_url + "/beta/litellm_basic_guardrail_api",
        f"api_base {g.api_base!r}",
    )

    clean = await apply(g, [CLEAN])
    check(clean.get("texts") == [CLEAN], f"clean text changed: {clean}")

    masked = await apply(g, [PII, CLEAN])
    texts = masked.get("texts")
    check(isinstance(texts, list) and len(texts) == 2, f"PII: texts {texts!r}")
    check(EMAIL not in texts[0], f"PII: {EMAIL} not masked: {texts[0]!r}")
    check(
        texts[0].startswith("Write to ") and texts[0].endswith(" tomorrow"),
        f"PII: the text around the address changed: {texts[0]!r}",
    )
    check(texts[1] == CLEAN, f"PII: the clean text changed: {texts[1]!r}")

    try:
        await apply(g, [CLEAN, THREAT])
    except GuardrailRaisedException as e:
        check(e.status_code == 400, f"blocked with status {e.status_code}")
        check(e.blocked_content is True, "the block is not marked blocked_content")
        check(
            e.message.startswith("mockdet found violence/threat") and "texts[1]" in e.message,
            f"blocked_reason {e.message!r}",
        )
        reason = e.message
    else:
        check(False, f"{THREAT!r} was not blocked")
    return {"masked": texts[0], "blocked_reason": reason}


async def phase_unavailable(base_url):
    try:
        result = await apply(guardrail(base_url), [CLEAN])
    except GuardrailRaisedException as e:
        check(False, f"a 503 was taken for a verdict: {e.message!r}")
    except Exception as e:  # LiteLLM fails closed with a plain Exception.
        check(str(e).startswith("Generic Guardrail API failed"), f"raised {e!r}")
        check("503" in str(e), f"the error does not name the status: {e}")
        return {"error": str(e)[:200]}
    check(False, f"a 503 passed: {result}")


PHASES = {"guardrail": phase_guardrail, "unavailable": phase_unavailable}


def main():
    run("litellm", PHASES, lambda phase, base_url: asyncio.run(phase(base_url)))


if __name__ == "__main__":
    main()
