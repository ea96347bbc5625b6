"""mockdet's Azure AI Content Safety wire, driven by the official
`azure-ai-contentsafety` SDK.

usage: azure_content_safety.py BASE_URL PHASE

BASE_URL is a loopback detector URL (http://127.0.0.1:PORT), used as the
endpoint. PHASE is one of:

  analyze   four categories with severities; one when one is asked for;
            the eight-level scale; a threat raises Violence; too long a
            text is refused as InvalidRequestBody
  busy      the caller injected one 503: with retry_total=0 it surfaces as
            HttpResponseError, status 503, error code ServerBusy
  retried   the caller injected one 503: the SDK's default retry policy
            retries the POST (azure-core retries 500/503/504 for any
            method) and the call succeeds

Prints one JSON line on success; on a failed check, says what on stderr and
exits 1.
"""

from azure.ai.contentsafety import ContentSafetyClient
from azure.ai.contentsafety.models import AnalyzeTextOptions, TextCategory
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from harness import check, run

THREAT = "I will kill you"
CLEAN = "The weather is lovely today."
CATEGORIES = ["Hate", "SelfHarm", "Sexual", "Violence"]


def client(base_url, **kwargs):
    return ContentSafetyClient(
        base_url, AzureKeyCredential("k"), connection_timeout=5, read_timeout=20, **kwargs
    )


def severities(result):
    check(result.categories_analysis is not None, f"no categoriesAnalysis: {result}")
    check(result.blocklists_match == [], f"blocklistsMatch is {result.blocklists_match!r}, not []")
    return {item.category: item.severity for item in result.categories_analysis}


def phase_analyze(base_url):
    sdk = client(base_url)

    clean = severities(sdk.analyze_text(AnalyzeTextOptions(text=CLEAN)))
    check(list(clean) == CATEGORIES, f"clean text: categories {list(clean)}")
    check(set(clean.values()) == {0}, f"clean text: severities {clean}")

    threat = severities(sdk.analyze_text(AnalyzeTextOptions(text=THREAT)))
    check(list(threat) == CATEGORIES, f"threat: categories {list(threat)}")
    for category, severity in threat.items():
        check(
            isinstance(severity, int) and severity in (0, 2, 4, 6),
            f"threat: {category} severity {severity!r} is not on the four-level scale",
        )
    check(threat["Violence"] > 0, f"threat: Violence severity {threat['Violence']}")

    only = severities(
        sdk.analyze_text(AnalyzeTextOptions(text=THREAT, categories=[TextCategory.VIOLENCE]))
    )
    check(list(only) == ["Violence"], f"Violence asked for, {list(only)} answered")
    check(only["Violence"] == threat["Violence"], f"Violence alone {only} vs {threat}")

    eight = severities(
        sdk.analyze_text(AnalyzeTextOptions(text=THREAT, output_type="EightSeverityLevels"))
    )
    check(list(eight) == CATEGORIES, f"eight levels: categories {list(eight)}")
    check(
        all(isinstance(s, int) and 0 <= s <= 7 for s in eight.values()),
        f"eight levels: severities {eight}",
    )
    check(
        eight["Violence"] // 2 * 2 == threat["Violence"] and eight["Violence"] > 0,
        f"eight-level Violence {eight['Violence']} does not round to {threat['Violence']}",
    )

    try:
        sdk.analyze_text(AnalyzeTextOptions(text="x" * 10_001), retry_total=0)
    except HttpResponseError as e:
        check(e.status_code == 400, f"too long: status {e.status_code}")
        check(e.error is not None and e.error.code == "InvalidRequestBody", f"too long: {e}")
    else:
        check(False, "10,001 characters were analysed")

    return {"threat": threat, "eight": eight}


def phase_busy(base_url):
    try:
        client(base_url, retry_total=0).analyze_text(AnalyzeTextOptions(text=CLEAN))
    except HttpResponseError as e:
        check(e.status_code == 503, f"status {e.status_code}")
        check(e.error is not None, f"the body is not an OData error: {e}")
        check(e.error.code == "ServerBusy", f"error code {e.error.code!r}")
        return {"error": type(e).__name__, "status": e.status_code, "code": e.error.code}
    check(False, "an injected 503 did not raise HttpResponseError")


def phase_retried(base_url):
    threat = severities(client(base_url).analyze_text(AnalyzeTextOptions(text=THREAT)))
    check(threat["Violence"] > 0, f"the retried answer: {threat}")
    return {"threat": threat}


PHASES = {"analyze": phase_analyze, "busy": phase_busy, "retried": phase_retried}


def main():
    run("azure-ai-contentsafety", PHASES)


if __name__ == "__main__":
    main()
