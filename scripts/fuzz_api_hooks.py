"""schemathesis hooks of scripts/fuzz-api (loaded through SCHEMATHESIS_HOOKS).

- Signed requests are built as the document says (docs/API.md "Signed requests in the OpenAPI
  document"): before the schema loads, each application/jose body's schema becomes its
  `x-jws-payload`, so schemathesis generates the claims (valid ones and, in its negative
  phases, invalid ones); before each call the hooks fill in a fresh nonce of `x-jws-purpose`,
  `htm`, `htu` and the `x-from-path` and `x-from-kid` claims, and sign as the first signer of `x-jws-signers`
  they hold: the test administrator, an owner they register (self-service) or the enquirer.
  PUT /v1/admin/trust-domains/{name} is not signed as the administrator: generated policies
  would add domains to, or change the policies of, the stack the other tests use. Operations
  only a device signs (registration, acknowledgement, reports) get junk text, as does a
  generated body that is no JSON object; either must be refused with a 4xx problem.
  TRUSTREG_FUZZ_SIGN=0 sends every application/jose body as junk (the document without its
  claims, as before they were described).
- application/x-ndjson goes on the wire as text.
- Coverage: after the run, `<pass>/coverage.json` lists per operation the answers it got, and
  which operations were driven: answered 2xx, or refused for something of the request's own
  rather than its credential (a problem other than malformed-jws, bad-signature,
  unauthenticated, forbidden, unknown-signer, wrong-target, nonce-invalid, nonce-expired, and
  other than 415).
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
from collections import defaultdict
from pathlib import Path

import requests
import schemathesis
from schemathesis.core import NotSet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

SIGN = os.environ.get("TRUSTREG_FUZZ_SIGN", "1") != "0"
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


def sign_jws(key, kid: str | None, method: str, path: str, claims: dict) -> str:
    """A compact JWS (ES256) over `claims` made for `method` on `path` (the `htm` and `htu`
    claims, docs/API.md "Signed requests"), as tests/src/lib.rs `signed_request` makes it."""
    claims = {**claims, "htm": method, "htu": path}
    header = {"alg": "ES256"} if kid is None else {"alg": "ES256", "kid": kid}
    header = b64url(json.dumps(header, separators=(",", ":")).encode())
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


def enquirer_token(api: str, admin_dir: Path, key=None) -> str:
    http = requests.Session()

    def challenge(purpose: str) -> str:
        answer = http.post(f"{api}/v1/challenges", json={"purpose": purpose}, timeout=30)
        return expect(answer, 201, f"a {purpose} challenge")["nonce"]

    key = key or ec.generate_private_key(ec.SECP256R1())
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
    # docs/API.md "Identifiers": the kid as sign-up gave it; the claim the id as given.
    kid = signed_up["kid"]
    ENQUIRER_KID[api] = kid
    login = sign_jws(key, kid, "POST", "/v1/sessions", {"nonce": challenge("login"), "enquirer_id": enquirer})
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


# ------------------------------------------------------------------- signed requests


class Signers:
    """The keys the hooks sign with, made once per run: kid -> private key, by role."""

    def __init__(self, api: str, admin_dir: Path):
        self.api = api
        self.http = requests.Session()
        admin = next(iter(json.loads((admin_dir / "admin-jwks.json").read_text())))
        self.by_role = {
            "admin": (f"admin:{admin}", serialization.load_pem_private_key(
                (admin_dir / "admin-key.pem").read_bytes(), None)),
        }
        owner_key = ec.generate_private_key(ec.SECP256R1())
        claims = {"nonce": self.nonce("owner"), "kind": "owner",
                  "attributes": {"name": "API Fuzzing"}, "public_key": jwk(owner_key.public_key())}
        owner = expect(
            self.http.post(f"{api}/v1/owners", data=sign_jws(owner_key, None, "POST", "/v1/owners", claims),
                           headers={"content-type": "application/jose"}, timeout=30),
            201, "owner self-registration")
        self.by_role["owner"] = (f"owner:{owner['owner_id']}", owner_key)
        enquirer_key = ec.generate_private_key(ec.SECP256R1())
        self.enquirer_token = enquirer_token(api, admin_dir, enquirer_key)
        self.by_role["enquirer"] = (self.enquirer_kid, enquirer_key)
        self.by_role["agency"] = self.by_role["enquirer"]

    @property
    def enquirer_kid(self) -> str:
        return ENQUIRER_KID[self.api]

    def nonce(self, purpose: str) -> str:
        answer = self.http.post(f"{self.api}/v1/challenges", json={"purpose": purpose}, timeout=30)
        return expect(answer, 201, f"a {purpose} challenge")["nonce"]


ENQUIRER_KID: dict = {}
_signers = None
_signers_lock = threading.Lock()


def signers():
    global _signers
    with _signers_lock:
        if _signers is None:
            _signers = Signers(os.environ["TRUSTREG_FUZZ_API"].rstrip("/"),
                               Path(os.environ["TRUSTREG_ADMIN_DIR"]))
        return _signers


# Signing these as the administrator would change the stack the other tests use.
NOT_AS_ADMIN = {("PUT", "/v1/admin/trust-domains/{name}")}


def jose_media(operation) -> dict | None:
    body = (operation.definition.raw.get("requestBody") or {}).get("content") or {}
    return body.get("application/jose")


@schemathesis.hook
def before_load_schema(ctx, raw_schema):
    """Each signed body's schema becomes its payload's, so that claims are generated."""
    if not SIGN:
        return
    for item in raw_schema.get("paths", {}).values():
        for operation in item.values():
            media = ((operation or {}).get("requestBody") or {}).get("content", {}).get("application/jose")
            if media and media.get("x-jws-payload"):
                media["schema"] = media["x-jws-payload"]


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    """A generated payload (a JSON object) goes out signed; anything else as junk text."""
    media = jose_media(case.operation)
    if media is None or isinstance(case.body, (NotSet, str)):
        return
    if not SIGN or not isinstance(case.body, dict):
        case.body = json.dumps(case.body)
        return
    method, template = case.operation.method.upper(), case.operation.path
    keys = signers()
    signer = None
    for allowed in media.get("x-jws-signers", []):
        role = allowed.get("role")
        if role == "admin" and (method, template) in NOT_AS_ADMIN:
            continue
        if role in keys.by_role and (allowed.get("kid") or role == "owner"):
            signer = keys.by_role[role]
            if allowed.get("kid") is None:  # self-service: the key the request registers
                case.body["public_key"] = jwk(signer[1].public_key())
                signer = (None, signer[1])
            break
    if signer is None:
        case.body = json.dumps(case.body)
        return
    claims = dict(case.body)
    for name, schema in (media["x-jws-payload"].get("properties") or {}).items():
        source = schema.get("x-from-path")
        if source and source in (case.path_parameters or {}):
            claims[name] = str(case.path_parameters[source])
        if schema.get("x-from-kid") and signer[0]:
            claims[name] = signer[0].split(":", 1)[1]
    claims["nonce"] = keys.nonce(media["x-jws-purpose"])
    case.body = sign_jws(signer[1], signer[0], method, case.formatted_path, claims)


# ------------------------------------------------------------------- coverage

CREDENTIAL_REFUSALS = {"malformed-jws", "bad-signature", "unauthenticated", "forbidden",
                       "unknown-signer", "wrong-target", "nonce-invalid", "nonce-expired"}
_answers = defaultdict(lambda: defaultdict(int))
_answers_lock = threading.Lock()


def problem_code(response) -> str:
    try:
        kind = json.loads(response.content).get("type", "")
    except (ValueError, AttributeError):
        return ""
    return kind.rsplit("/", 1)[-1] if isinstance(kind, str) else ""


@schemathesis.hook
def after_call(ctx, case, response):
    # Only the operation's own method: the coverage phase also sends others to its path.
    if case.method.upper() != case.operation.method.upper():
        return
    code = problem_code(response) if response.status_code >= 400 else ""
    with _answers_lock:
        _answers[f"{case.operation.method.upper()} {case.operation.path}"][
            f"{response.status_code} {code}".strip()] += 1
        write_coverage()


# Answers that never reach the operation: no such route or method (the router's), a body of
# another media type, and answers without a trustreg problem (LocalStack's or the gateway's).
NOT_REACHED = {"", "not-found", "method-not-allowed", "unsupported-media-type"}


def driven(answers: dict) -> bool:
    for answer in answers:
        status, _, code = answer.partition(" ")
        if status.startswith("2") or (code not in NOT_REACHED and code not in CREDENTIAL_REFUSALS):
            return True
    return False


def write_coverage():
    out = os.environ.get("TRUSTREG_FUZZ_COVERAGE")
    if not out:
        return
    report = {
        "driven": sorted(op for op, answers in _answers.items() if driven(answers)),
        "not_driven": sorted(op for op, answers in _answers.items() if not driven(answers)),
        "answers": {op: dict(answers) for op, answers in sorted(_answers.items())},
    }
    Path(out).write_text(json.dumps(report, indent=1))
