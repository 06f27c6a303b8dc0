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
- With TRUSTREG_FUZZ_AUTH=admin, the bearer token is the test administrator's own (the same
  login, kid admin:<name>): the routes only an administrator reads (docs/API.md's role table)
  are driven past their credential.
"""

import base64
import datetime
import hashlib
import json
import secrets
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
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SIGN = os.environ.get("TRUSTREG_FUZZ_SIGN", "1") != "0"
# TRUSTREG_FUZZ_UNSIGNED_ONLY=1 (scripts/fuzz-api's anonymous pass when the enquirer pass runs
# too): signed operations are left out. They are signed the same way in both passes, so the
# enquirer pass drives them alike; the anonymous pass is for what a caller without a token gets.
UNSIGNED_ONLY = os.environ.get("TRUSTREG_FUZZ_UNSIGNED_ONLY") == "1"
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


def sign_jws(key, kid: str | None, method: str, path: str, claims: dict, x5c=None) -> str:
    """A compact JWS (ES256) over `claims` made for `method` on `path` (the `htm` and `htu`
    claims, docs/API.md "Signed requests"), as tests/src/lib.rs `signed_request` makes it;
    with `x5c`, the certificate chain (a device's registration) in the header."""
    claims = {**claims, "htm": method, "htu": path}
    header = {"alg": "ES256"} if kid is None else {"alg": "ES256", "kid": kid}
    if x5c:
        header["x5c"] = x5c
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


def admin_token(api: str, admin_dir: Path) -> str:
    """The test administrator's access token: a challenge-response login with its key."""
    http = requests.Session()
    key = serialization.load_pem_private_key((admin_dir / "admin-key.pem").read_bytes(), None)
    name = next(iter(json.loads((admin_dir / "admin-jwks.json").read_text())))
    nonce = expect(http.post(f"{api}/v1/challenges", json={"purpose": "login"}, timeout=30),
                   201, "a login challenge")["nonce"]
    login = sign_jws(key, f"admin:{name}", "POST", "/v1/sessions", {"nonce": nonce, "enquirer_id": name})
    session = expect(
        http.post(f"{api}/v1/sessions", data=login, headers={"content-type": "application/jose"}, timeout=30),
        200,
        "the administrator's login",
    )
    return session["access_token"]


if os.environ.get("TRUSTREG_FUZZ_AUTH") in ("enquirer", "admin"):
    _lock = threading.Lock()

    # retry_on=[]: a 401 is an answer under test (a signed route's bad JWS), not a stale token.
    @schemathesis.auth(refresh_interval=600, retry_on=[])
    class EnquirerToken:
        def get(self, case, context):
            with _lock:
                try:
                    api = os.environ["TRUSTREG_FUZZ_API"].rstrip("/")
                    admin_dir = Path(os.environ["TRUSTREG_ADMIN_DIR"])
                    if os.environ["TRUSTREG_FUZZ_AUTH"] == "admin":
                        return admin_token(api, admin_dir)
                    return enquirer_token(api, admin_dir)
                except Exception as e:  # schemathesis reports only that the fetch failed
                    print(f"fuzz-api: {e}", file=sys.stderr, flush=True)
                    raise

        def set(self, case, data, context):
            case.headers = case.headers or {}
            if str(case.headers.get("Authorization", "")).startswith("TrustReg-JWS "):
                return  # a bulk registration's own signature (sign_bulk)
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
        self.devices = Devices(self, admin_dir)
        self.by_role["device"] = (self.devices.regdevid, self.devices.key)

    @property
    def enquirer_kid(self) -> str:
        return ENQUIRER_KID[self.api]

    def nonce(self, purpose: str) -> str:
        answer = self.http.post(f"{self.api}/v1/challenges", json={"purpose": purpose}, timeout=30)
        return expect(answer, 201, f"a {purpose} challenge")["nonce"]


class Devices:
    """A manufacturer CA of the hooks' own, accepted through the API as the administrator (PUT
    /v1/admin/roots/{id}), and one device it certified, registered and so known by its
    RegDevID: the hooks sign registrations with a fresh device certificate of that CA (x5c)
    and the device's operations as that device (kid = its RegDevID)."""

    IMEI_TAC = "35" + "".join(str(secrets.randbelow(10)) for _ in range(6))

    def __init__(self, signers: "Signers", admin_dir: Path):
        self.signers = signers
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"API Fuzzing CA {secrets.token_hex(4)}")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.ca_name = name
        self.ca = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        der = self.ca.public_bytes(serialization.Encoding.DER)
        root_path = f"/v1/admin/roots/{hashlib.sha256(der).hexdigest()}"
        admin_kid, admin_key = signers.by_role["admin"]
        claims = {"nonce": signers.nonce("root"), "name": "API Fuzzing",
                  "certificate": base64.b64encode(der).decode(),
                  "rot_types": ["secure-element"], "identifier_scopes": [f"imei:{self.IMEI_TAC}"]}
        expect(signers.http.put(f"{signers.api}{root_path}",
                                data=sign_jws(admin_key, admin_kid, "PUT", root_path, claims),
                                headers={"content-type": "application/jose"}, timeout=30),
               200, "the hooks' manufacturer root")
        self.key = ec.generate_private_key(ec.SECP256R1())
        claims = {"nonce": signers.nonce("register"), "identifier": self.imei(),
                  "device": {"make": "Fuzz", "model": "Sensor", "firmware_version": "1",
                             "software_version": "1", "rot": {"type": "secure-element"}}}
        registered = expect(
            signers.http.post(f"{signers.api}/v1/registrations",
                              data=self.registration(claims, self.key),
                              headers={"content-type": "application/jose"}, timeout=30),
            201, "the hooks' device")
        self.regdevid = registered["regdevid"]

    def imei(self) -> dict:
        """A fresh IMEI under the CA's scope (TAC), its Luhn check digit right."""
        body = self.IMEI_TAC + "".join(str(secrets.randbelow(10)) for _ in range(6))
        total = 0
        for i, digit in enumerate(int(d) for d in reversed(body)):
            if i % 2 == 0:
                digit *= 2
                digit = digit - 9 if digit > 9 else digit
            total += digit
        return {"scheme": "imei", "value": body + str((10 - total % 10) % 10)}

    def certificate(self, identifier: dict, key) -> bytes:
        """A device certificate for `identifier` (SAN URI as core/src/identifier/san.rs
        writes it, IMEIs only here) and `key`."""
        value = identifier["value"]
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"imei:{value}")]))
            .issuer_name(self.ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(
                f"urn:gsma:imei:{value[:8]}-{value[8:14]}-{value[14:]}")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                           critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.DER)

    def registration(self, claims: dict, key=None) -> str:
        """A registration signed by a fresh device key (or `key`) certified for the claims'
        identifier, the chain in x5c; an identifier the CA cannot certify gets a fresh IMEI."""
        key = key or ec.generate_private_key(ec.SECP256R1())
        identifier = claims.get("identifier")
        if not (isinstance(identifier, dict) and identifier.get("scheme") == "imei"
                and str(identifier.get("value", "")).startswith(self.IMEI_TAC)):
            claims["identifier"] = identifier = self.imei()
        chain = [base64.b64encode(self.certificate(identifier, key)).decode(),
                 base64.b64encode(self.ca.public_bytes(serialization.Encoding.DER)).decode()]
        return sign_jws(key, None, "POST", "/v1/registrations", claims, x5c=chain)


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


# Signing these as the administrator would change the stack the other tests use: signed for a
# name the registry refuses only (NOT_A_DOMAIN).
NOT_AS_ADMIN = {("PUT", "/v1/admin/trust-domains/{name}")}


def jose_media(operation) -> dict | None:
    body = (operation.definition.raw.get("requestBody") or {}).get("content") or {}
    return body.get("application/jose")


@schemathesis.hook
def before_load_schema(ctx, raw_schema):
    """Each signed body's schema becomes its payload's, so that claims are generated."""
    if UNSIGNED_ONLY:
        for path, item in raw_schema.get("paths", {}).items():
            for method in [m for m, op in item.items() if isinstance(op, dict)]:
                body = (item[method].get("requestBody") or {}).get("content") or {}
                if "application/jose" in body or (method.upper(), path) == BULK:
                    del item[method]
    if not SIGN:
        return
    for item in raw_schema.get("paths", {}).values():
        for operation in item.values():
            media = ((operation or {}).get("requestBody") or {}).get("content", {}).get("application/jose")
            if media and media.get("x-jws-payload"):
                media["schema"] = media["x-jws-payload"]


# A trust domain name the registry refuses (lower-case letters, digits and '-' only), so that a
# PUT signed as the administrator reaches the operation's own checks but never adds a domain
# to, or changes a policy of, the stack the other tests use (tests/tests/trust_domains.rs
# covers its successes).
NOT_A_DOMAIN = "Fuzz_Not_A_Domain"
BULK = ("POST", "/v1/bulk/registrations")


def sign_bulk(case):
    """A bulk registration goes as NDJSON text (exact bytes to digest), signed by the test
    administrator in `Authorization: TrustReg-JWS <JWS>` over the body's SHA-256 and a `bulk`
    nonce (docs/API.md, device-facing; device/src/bulk.rs `body_claims`)."""
    if isinstance(case.body, NotSet):
        return
    if isinstance(case.body, bytes):
        case.body = case.body.decode("utf-8", "replace")
    if not isinstance(case.body, str):
        items = case.body if isinstance(case.body, list) else [case.body]
        # default=str: a generated negative body may hold values JSON has no form for.
        case.body = "\n".join(json.dumps(item, default=str) for item in items)
        case.media_type = "application/x-ndjson"
    keys = signers()
    kid, key = keys.by_role["admin"]
    claims = {"nonce": keys.nonce("bulk"),
              "body_sha256": b64url(hashlib.sha256(case.body.encode()).digest())}
    case.headers = case.headers or {}
    case.headers["Authorization"] = "TrustReg-JWS " + sign_jws(key, kid, "POST", BULK[1], claims)


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    """A generated payload (a JSON object) goes out signed; anything else as junk text."""
    if SIGN and (case.operation.method.upper(), case.operation.path) == BULK \
            and case.method.upper() == "POST":
        sign_bulk(case)
        return
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
            case.path_parameters["name"] = NOT_A_DOMAIN
        if role == "device" and allowed.get("x5c"):  # a registration: the root of trust
            claims = dict(case.body)
            claims["nonce"] = keys.nonce(media["x-jws-purpose"])
            case.body = keys.devices.registration(claims)
            return
        if role == "device":
            # The device signs for itself only: its RegDevID in the path, as its kid.
            if "regdevid" in (case.path_parameters or {}):
                case.path_parameters["regdevid"] = keys.devices.regdevid
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
