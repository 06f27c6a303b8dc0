"""schemathesis hooks of scripts/fuzz-api (loaded through SCHEMATHESIS_HOOKS).

- Request bodies of application/jose (a compact JWS, a string in the document) and
  application/x-ndjson go on the wire as text: schemathesis has no serializer of its own for
  them and would skip those operations. What it generates is junk to the API (no valid
  signature), which it must refuse with a 4xx problem, never a 5xx.
- The check `problem_json`: every 4xx and 5xx answer is an RFC 9457 problem of trustreg's:
  Content-Type application/problem+json, a JSON object whose `type` is a URI under
  https://trustreg.dev/problems/ and whose `status`, when present, is the answer's status.
- With TRUSTREG_FUZZ_AUTH=enquirer, every request carries the bearer token of an enquirer
  signed up, approved and logged in at TRUSTREG_FUZZ_API as tests/src/lib.rs `enquirer_token`
  does: sign-up (POST /v1/enquirers), the test administrator's signed approval (POST
  /v1/admin/enquirers/{id}/decision, key TRUSTREG_ADMIN_DIR/admin-key.pem, kid admin:<name>
  from admin-jwks.json) and a challenge-response login (POST /v1/sessions). Logged in again
  every 10 minutes (tokens last 15).
"""

import base64
import json
import os
import sys
import threading
from pathlib import Path

import requests
import schemathesis
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

schemathesis.serializer.alias("application/jose", "text/plain")
schemathesis.serializer.alias("application/x-ndjson", "text/plain")

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPES = "https://trustreg.dev/problems/"
# The methods API Gateway's ANY passes to the functions. Others (TRACE, which schemathesis's
# coverage phase sends to every path as an undeclared method) get the gateway's own answer,
# 403 {"message": "Missing Authentication Token"} as application/json, before any function:
# not the API's to shape. On AWS a GatewayResponse (MISSING_AUTHENTICATION_TOKEN) with a
# problem+json template would; LocalStack 4.7 applies only its status code, neither its
# template nor its headers. They are still checked for 5xx (not_a_server_error).
API_GATEWAY_METHODS = {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"}


def localstack_refused(response) -> bool:
    """LocalStack's HTTP server answers a multipart/* body it cannot parse (schemathesis's
    content-type probe: a JSON body under `multipart/form-data` without a boundary) itself, 400
    with no headers and no body, before API Gateway (no x-amzn-RequestId) and any function; it
    does so for any path, /_localstack/health too. A well-formed multipart body reaches the
    function, which answers 415 problem+json. On AWS, API Gateway passes either on."""
    sent = (response.request.headers.get("Content-Type") or "").lower()
    return sent.startswith("multipart/") and "x-amzn-requestid" not in response.headers


@schemathesis.check
def problem_json(ctx, response, case):
    """Every 4xx/5xx answer is application/problem+json with a trustreg problem type."""
    status = response.status_code
    if status < 400:
        return None
    method = case.method.upper()
    if method not in API_GATEWAY_METHODS or localstack_refused(response):
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    media = content_type.split(";")[0].strip().lower()
    if media != PROBLEM_JSON:
        raise AssertionError(
            f"{status} answered with Content-Type {content_type or '(none)'!r}, "
            f"not {PROBLEM_JSON}: {response.content[:300]!r}"
        )
    if method == "HEAD":
        return None  # no body to read
    try:
        problem = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{status} problem+json body is not JSON: {response.content[:300]!r}")
    if not isinstance(problem, dict):
        raise AssertionError(f"{status} problem+json body is not an object: {response.content[:300]!r}")
    kind = problem.get("type")
    if not isinstance(kind, str) or not kind.startswith(PROBLEM_TYPES):
        raise AssertionError(f"{status} problem type {kind!r} is not under {PROBLEM_TYPES}")
    if "status" in problem and problem["status"] != status:
        raise AssertionError(f"{status} answered with a problem whose status is {problem['status']!r}")
    return None


# ------------------------------------------------------------------- the enquirer's bearer token


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(public_key) -> dict:
    numbers = public_key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }


def sign_jws(key, kid: str, method: str, path: str, claims: dict) -> str:
    """A compact JWS (ES256) over `claims` made for `method` on `path` (the `htm` and `htu`
    claims, docs/API.md "Signed requests"), as tests/src/lib.rs `signed_request` makes it."""
    claims = {**claims, "htm": method, "htu": path}
    header = b64url(json.dumps({"alg": "ES256", "kid": kid}, separators=(",", ":")).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    der = key.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    s = min(s, n - s)  # low S: accepted by every verifier
    return f"{header}.{payload}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def expect(answer: requests.Response, status: int, what: str) -> dict:
    if answer.status_code != status:
        raise RuntimeError(f"enquirer login: {what} answered {answer.status_code}: {answer.text[:300]}")
    return answer.json()


def enquirer_token(api: str, admin_dir: Path) -> str:
    http = requests.Session()

    def challenge(purpose: str) -> str:
        answer = http.post(f"{api}/v1/challenges", json={"purpose": purpose}, timeout=30)
        return expect(answer, 201, f"a {purpose} challenge")["nonce"]

    key = ec.generate_private_key(ec.SECP256R1())
    signed_up = expect(
        http.post(
            f"{api}/v1/enquirers",
            json={
                "name": "API Fuzzing",
                "organisation": "Example Health",
                "contact": "fuzz@example.org",
                "role": "enquirer",
                "public_key": jwk(key.public_key()),
            },
            timeout=30,
        ),
        201,
        "sign-up",
    )
    enquirer = signed_up["enquirer_id"]
    admin_key = serialization.load_pem_private_key((admin_dir / "admin-key.pem").read_bytes(), None)
    admin = next(iter(json.loads((admin_dir / "admin-jwks.json").read_text())))
    decision_path = f"/v1/admin/enquirers/{enquirer}/decision"
    decision = sign_jws(
        admin_key,
        f"admin:{admin}",
        "POST",
        decision_path,
        {"nonce": challenge("enquirer-decision"), "decision": "approve"},
    )
    expect(
        http.post(
            f"{api}{decision_path}",
            data=decision,
            headers={"content-type": "application/jose"},
            timeout=30,
        ),
        200,
        "the administrator's approval",
    )
    kid = f"enquirer:{enquirer}"
    login = sign_jws(key, kid, "POST", "/v1/sessions", {"nonce": challenge("login"), "enquirer_id": kid})
    session = expect(
        http.post(f"{api}/v1/sessions", data=login, headers={"content-type": "application/jose"}, timeout=30),
        200,
        "login",
    )
    return session["access_token"]


if os.environ.get("TRUSTREG_FUZZ_AUTH") == "enquirer":
    _lock = threading.Lock()

    # retry_on=[]: a 401 is an answer under test (a signed route's bad JWS), not a stale token.
    @schemathesis.auth(refresh_interval=600, retry_on=[])
    class EnquirerToken:
        def get(self, case, context):
            with _lock:
                try:
                    return enquirer_token(
                        os.environ["TRUSTREG_FUZZ_API"].rstrip("/"),
                        Path(os.environ["TRUSTREG_ADMIN_DIR"]),
                    )
                except Exception as e:  # schemathesis reports only that the fetch failed
                    print(f"fuzz-api: {e}", file=sys.stderr, flush=True)
                    raise

        def set(self, case, data, context):
            case.headers = case.headers or {}
            case.headers["Authorization"] = f"Bearer {data}"
