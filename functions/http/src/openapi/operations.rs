//! What each route of `ROUTES` does, for the OpenAPI document: its summary, request body,
//! query parameters, main answer and the errors beyond those its access implies. Keyed by
//! the route's name (`Op`); tests/openapi check that every route has exactly one entry.

use crate::routes::Op;

pub(crate) struct Described {
    pub op: Op,
    pub summary: &'static str,
    pub body: Body,
    /// `(name, description)` of each query parameter; all optional.
    pub query: &'static [(&'static str, &'static str)],
    pub answer: Answer,
    /// Client errors of the route itself (401/403 follow from its access).
    pub errors: &'static [u16],
    /// A public route whose answer depends on an optional bearer token.
    pub optional_token: bool,
}

pub(crate) enum Body {
    None,
    /// `application/json` of the named schema.
    Json(&'static str),
    /// A compact JWS (`application/jose`) over a nonce of `purpose`, with these claims.
    Jws {
        purpose: &'static str,
        claims: &'static str,
    },
    /// A JSON array or NDJSON of devices, signed in the `Authorization` header.
    BulkDevices,
}

pub(crate) struct Answer {
    pub status: u16,
    pub description: &'static str,
    pub media: &'static str,
    pub schema: &'static str,
}

const fn json(status: u16, description: &'static str, schema: &'static str) -> Answer {
    Answer {
        status,
        description,
        media: "application/json",
        schema,
    }
}

const PAGE: (&str, &str) = ("cursor", "Opaque cursor of the next page, from `next`");

const fn jws(purpose: &'static str, claims: &'static str) -> Body {
    Body::Jws { purpose, claims }
}

const NONE: &[(&str, &str)] = &[];

/// An answer without a body.
const fn empty(status: u16, description: &'static str) -> Answer {
    Answer {
        status,
        description,
        media: "",
        schema: "",
    }
}

pub(crate) const OPERATIONS: &[Described] = &[
    Described {
        op: Op::Challenge,
        summary: "A single-use nonce for one purpose",
        body: Body::Json("ChallengeRequest"),
        query: NONE,
        answer: json(201, "The nonce", "ChallengeResponse"),
        // 403: a `tpm-activation` challenge's EK certificate or AK refused (tpm-evidence-invalid).
        errors: &[400, 403, 415],
        optional_token: false,
    },
    Described {
        op: Op::Register,
        summary: "Register a device with its root of trust (7 iv a, 9.2 i)",
        body: jws(
            "register",
            "{nonce, identifier:{scheme,value}, device:{make, model, firmware_version, \
             software_version, rot:{type}, communication, power, protocols}, owner?, \
             trust_domains, tpm?}; the device certificate chain in the header's x5c, leaf \
             first; rot.type `tpm` needs `tpm` evidence over a `tpm-activation` nonce",
        ),
        query: NONE,
        answer: json(
            201,
            "Registered (200 with the same RegDevID for a repeat with the same key)",
            "RegistrationResponse",
        ),
        errors: &[400, 409, 415],
        optional_token: false,
    },
    Described {
        op: Op::Acknowledge,
        summary: "The device confirms it stored its RegDevID (7 iv b)",
        body: jws("acknowledge", "{nonce, regdevid}; kid = RegDevID"),
        query: NONE,
        answer: json(200, "Acknowledged", "AcknowledgementResponse"),
        errors: &[400, 404, 409, 415],
        optional_token: false,
    },
    Described {
        op: Op::Report,
        summary: "Timestamped security parameters from the device (9.3 i c)",
        body: jws(
            "report",
            "{nonce, firmware_version, software_version, communication?, ..., \
             idempotency_key?, evidence_challenge?}; kid = RegDevID",
        ),
        query: NONE,
        answer: json(201, "Stored with its time", "ReportResponse"),
        errors: &[400, 404, 409, 415, 422],
        optional_token: false,
    },
    Described {
        op: Op::BulkRegister,
        summary: "Register up to 1000 devices (9.2 i g)",
        body: Body::BulkDevices,
        query: NONE,
        answer: json(
            207,
            "One result per item, in order",
            "BulkRegistrationAnswer",
        ),
        errors: &[400, 415],
        optional_token: false,
    },
    Described {
        op: Op::CreateVirtualId,
        summary: "A temporary or single-use virtual RegDevID (9.2 i f)",
        body: jws(
            "virtual-id",
            "{nonce, ttl_seconds, single_use?}; kid = RegDevID or owner:<id>",
        ),
        query: NONE,
        answer: json(201, "The virtual ID", "VirtualIdResponse"),
        errors: &[400, 404, 409, 415],
        optional_token: false,
    },
    Described {
        op: Op::CreateOwner,
        summary: "Register an owner or custodian (9.2 i d)",
        body: jws(
            "owner",
            "{nonce, kind, attributes, public_key}: self-service signed by public_key (no \
             kid), or by an admin",
        ),
        query: NONE,
        answer: json(201, "The owner, without its PII", "OwnerResponse"),
        errors: &[400, 415],
        optional_token: false,
    },
    Described {
        op: Op::VerifyOwner,
        summary: "An administrator verifies or rejects an owner's identity",
        body: jws("owner-verification", "{nonce, state}"),
        query: NONE,
        answer: json(200, "The owner", "OwnerResponse"),
        errors: &[400, 404, 415],
        optional_token: false,
    },
    Described {
        op: Op::Transfer,
        summary: "Transfer a device to another owner: an administrator at once (200), the \
                  current owner by an offer the receiving owner accepts (202, offered_to)",
        body: jws(
            "transfer",
            "{nonce, htm, htu, new_owner_id, idempotency_key?}",
        ),
        query: NONE,
        answer: json(
            200,
            "Transferred at once (by an administrator): the device's new owner",
            "TransferResponse",
        ),
        errors: &[400, 403, 404, 409, 415, 422],
        optional_token: false,
    },
    Described {
        op: Op::AcceptTransfer,
        summary: "Accept a device offered to the signing owner (9.2 i d)",
        body: jws("transfer", "{nonce, htm, htu}"),
        query: NONE,
        answer: json(200, "The device's new owner", "TransferResponse"),
        errors: &[400, 403, 404, 409, 415],
        optional_token: false,
    },
    Described {
        op: Op::PlaceHold,
        summary: "Place a hold (stolen, compromised) on a device",
        body: jws("hold", "{nonce, regdevid, kind, note?, idempotency_key?}"),
        query: NONE,
        answer: json(200, "The device's holds and status", "HoldResponse"),
        errors: &[400, 404, 409, 415, 422],
        optional_token: false,
    },
    Described {
        op: Op::ReleaseHold,
        summary: "Release a hold",
        body: jws("hold", "{nonce, regdevid, kind, note?, idempotency_key?}"),
        query: NONE,
        answer: json(200, "The device's holds and status", "HoldResponse"),
        errors: &[400, 404, 409, 415, 422],
        optional_token: false,
    },
    Described {
        op: Op::Deregister,
        summary: "End a device's registration (6.3 e), by its owner or an administrator: its \
                  status becomes deregistered for good, its RegDevID is never issued again. \
                  Again on a deregistered device: the same answer, nothing changes",
        body: jws(
            "deregister",
            "{nonce, regdevid, reason, note?, idempotency_key?}",
        ),
        query: NONE,
        answer: json(
            200,
            "The device is deregistered: since when and why",
            "DeregistrationResponse",
        ),
        errors: &[400, 403, 404, 415, 422],
        optional_token: false,
    },
    Described {
        op: Op::RevokeOwner,
        summary: "End the custody of a device's owner without a new one, by that owner or an \
                  administrator: the device keeps its registration and has no owner; an \
                  administrator's transfer may give it one later",
        body: jws("transfer", "{nonce, regdevid, note?, idempotency_key?}"),
        query: NONE,
        answer: json(
            200,
            "The custody ended: the former owner, and the device's status",
            "OwnerRevocationResponse",
        ),
        errors: &[400, 403, 404, 409, 415, 422],
        optional_token: false,
    },
    Described {
        op: Op::RequestEvidence,
        summary: "Ask a registered device for fresh evidence (9.2 note), by an administrator: \
                  the device reads the request in its feed and answers with a signed report \
                  carrying its challenge before it is due, else it becomes unverified \
                  (evidence_not_provided). One request pending at a time (else 409)",
        body: jws("evidence-request", "{nonce, regdevid}"),
        query: NONE,
        answer: json(
            202,
            "The request, pending: its challenge and when it is due",
            "EvidenceRequestView",
        ),
        errors: &[400, 404, 409, 415],
        optional_token: false,
    },
    Described {
        op: Op::Feed,
        summary: "The device reads what concerns it (9.4 i b): its status, open \
                  vulnerabilities, the registry's pending evidence request and its status \
                  transitions, paged, in a JWS the registry signs (typ trustreg-feed+jwt, \
                  verified like a statement with the key of GET /v1/registry). The device \
                  itself only",
        body: jws("feed", "{nonce, regdevid, after?, limit?}"),
        query: NONE,
        answer: json(200, "The feed, signed by the registry", "FeedResponse"),
        errors: &[400, 415],
        optional_token: false,
    },
    Described {
        op: Op::SignUp,
        summary: "Sign up as an enquirer or agency (9.3 i a); pending until approved",
        body: Body::Json("SignUpRequest"),
        query: NONE,
        answer: json(201, "Signed up, pending", "EnquirerView"),
        errors: &[400, 409, 415],
        optional_token: false,
    },
    Described {
        op: Op::Login,
        summary: "Log in by challenge-response (9.3 iii): an access token",
        body: jws(
            "login",
            "{nonce, htm, htu, enquirer_id}; kid = enquirer:<enquirer_id>, owner:<owner_id> or \
             admin:<name>, enquirer_id the signer's id as the registry gave it (the whole kid \
             is accepted too)",
        ),
        query: NONE,
        answer: json(200, "The access token", "SessionResponse"),
        errors: &[400, 415],
        optional_token: false,
    },
    Described {
        op: Op::Lookup,
        summary: "Look up a device by RegDevID, virtual ID or inherent identifier (IMEI, MAC, \
                  serial...: `imei:<15 digits>` or bare) (9.3 ii c, 6.1 h)",
        body: Body::None,
        query: NONE,
        answer: json(
            200,
            "Public: status only; enquirers: details; owner and admins: PII",
            "LookupAnswer",
        ),
        errors: &[400, 404],
        optional_token: true,
    },
    Described {
        op: Op::Search,
        summary: "Search devices (8)",
        body: Body::None,
        query: &[
            ("make", "Make"),
            ("model", "Model"),
            ("status", "trusted, unverified, unreliable or deregistered"),
            ("domain", "Trust domain"),
            ("capability", "Communication technology or protocol"),
            ("owner", "Owner id"),
            PAGE,
            ("limit", "Page size"),
        ],
        answer: json(200, "A page of devices", "SearchAnswer"),
        errors: &[400],
        optional_token: false,
    },
    Described {
        op: Op::History,
        summary: "Every report and status transition of a device, time-ordered (9.3 ii a)",
        body: Body::None,
        query: NONE,
        answer: json(200, "The history", "HistoryAnswer"),
        errors: &[400, 404],
        optional_token: false,
    },
    Described {
        op: Op::DeviceVulnerabilities,
        summary: "The vulnerabilities of a device, timestamped, with source (9.3 ii b)",
        body: Body::None,
        query: NONE,
        answer: json(200, "The vulnerabilities", "VulnerabilitiesAnswer"),
        errors: &[400, 404],
        optional_token: false,
    },
    Described {
        op: Op::BulkLookup,
        summary: "Look up to 1000 devices at once (9.3 ii d)",
        body: Body::Json("BulkLookupRequest"),
        query: NONE,
        answer: json(200, "One result per id, in order", "BulkLookupAnswer"),
        errors: &[400, 415],
        optional_token: false,
    },
    Described {
        op: Op::RegistryDocument,
        summary: "Who the registry is: identity, key, roots, domains, protocols (9.1 vi)",
        body: Body::None,
        query: NONE,
        answer: json(200, "The registry document", "RegistryDocument"),
        errors: &[],
        optional_token: false,
    },
    Described {
        op: Op::PracticeStatement,
        summary: "The practice statement (9.3 i b)",
        body: Body::None,
        query: NONE,
        answer: Answer {
            status: 200,
            description: "The practice statement",
            media: "text/markdown",
            schema: "",
        },
        errors: &[],
        optional_token: false,
    },
    Described {
        op: Op::OpenApi,
        summary: "This API (9.3 i b)",
        body: Body::None,
        query: NONE,
        answer: json(200, "The OpenAPI document", "OpenApiDocument"),
        errors: &[],
        optional_token: false,
    },
    Described {
        op: Op::Subscribe,
        summary: "Subscribe an endpoint to a trust domain's notifications (9.4 i a)",
        body: Body::Json("SubscriptionRequest"),
        query: NONE,
        answer: json(
            201,
            "Subscribed (200 with the same subscription for a repeat); HTTPS and email \
             endpoints receive SNS's confirmation request first",
            "Subscription",
        ),
        errors: &[400, 409, 415],
        optional_token: false,
    },
    Described {
        op: Op::ListSubscriptions,
        summary: "The caller's subscriptions, with their confirmation state",
        body: Body::None,
        query: NONE,
        answer: json(200, "The caller's subscriptions", "SubscriptionList"),
        errors: &[],
        optional_token: false,
    },
    Described {
        op: Op::Unsubscribe,
        summary: "Remove one of the caller's subscriptions (an administrator's: any)",
        body: Body::None,
        query: NONE,
        answer: empty(204, "Unsubscribed"),
        errors: &[404],
        optional_token: false,
    },
    Described {
        op: Op::StatusList,
        summary: "The trusted, unverified, unreliable or deregistered devices of this registry \
                  and those mirrored from below it, signed (7 iv d)",
        body: Body::None,
        query: &[PAGE],
        answer: json(200, "One page of the list, signed", "StatusList"),
        errors: &[400],
        optional_token: false,
    },
    Described {
        op: Op::Statistics,
        summary: "Device counts by status and trust domain, own and mirrored from below, and \
                  the recent status changes of the registry's own devices, signed (the \
                  portal's dashboard)",
        body: Body::None,
        query: NONE,
        answer: json(200, "The statistics, signed", "Statistics"),
        errors: &[],
        optional_token: false,
    },
    Described {
        op: Op::PutTrustDomain,
        summary: "Set a trust domain's status policy, or add a domain with it (6.1 f)",
        body: jws("trust-domain", "{nonce, policy}"),
        query: NONE,
        answer: json(200, "The stored policy", "DomainPolicy"),
        errors: &[400, 409, 415],
        optional_token: false,
    },
    Described {
        op: Op::PutRoot,
        summary: "Accept a manufacturer CA as a root of trust (7 ii)",
        body: jws(
            "root",
            "{nonce, htm, htu, name, certificate (base64 DER), rot_types, identifier_scopes \
             (imei:<TAC>, mac:<OUI>, eui64:<prefix>, serial:<manufacturer>, \
             ipv6:<prefix>/<length>), revoked_intermediates?}; id = the certificate's",
        ),
        query: NONE,
        answer: json(200, "The accepted root", "RootOfTrust"),
        errors: &[400, 415],
        optional_token: false,
    },
    Described {
        op: Op::DeleteRoot,
        summary: "Stop accepting a root of trust; its devices become unreliable (7 ii)",
        body: jws("root", "{nonce}"),
        query: NONE,
        answer: json(200, "Removed, with the devices re-evaluated", "RootRemoved"),
        errors: &[400, 404, 415],
        optional_token: false,
    },
    Described {
        op: Op::Link,
        summary: "Link a parent, child or peer registry with its key and inbox (9.1 v)",
        body: jws(
            "link",
            "{nonce, kind (parent, child or peer), reg_id, path, public_key (JWK), inbox}",
        ),
        query: NONE,
        answer: json(201, "The stored link", "Link"),
        errors: &[400, 409, 415, 422],
        optional_token: false,
    },
    Described {
        op: Op::ListEnquirers,
        summary: "Enquirers by state, for approval",
        body: Body::None,
        query: &[
            ("state", "pending (default), approved, rejected or revoked"),
            PAGE,
        ],
        answer: json(200, "A page of enquirers", "EnquirerList"),
        errors: &[400],
        optional_token: false,
    },
    Described {
        op: Op::DecideEnquirer,
        summary: "Approve, reject or revoke an enquirer, or change its role",
        body: jws(
            "enquirer-decision",
            "{nonce, decision: approve|reject|revoke, role?}",
        ),
        query: NONE,
        answer: json(200, "The enquirer", "EnquirerView"),
        errors: &[400, 404, 409, 415],
        optional_token: false,
    },
    Described {
        op: Op::ReportVulnerability,
        summary: "Report a vulnerability (9.3 ii b): an admin or an agency for RegDevIDs or make/model/firmware ranges, an owner for RegDevIDs it owns, a device for itself; stored with its source",
        body: jws(
            "vulnerability",
            "{nonce, severity, cve?, summary, target: {regdevids} or a make/model/firmware range}",
        ),
        query: NONE,
        answer: json(
            202,
            "Stored; `complete` says whether all its devices are re-evaluated",
            "VulnerabilityProgress",
        ),
        errors: &[400, 409, 415],
        optional_token: false,
    },
    Described {
        op: Op::ApplyVulnerability,
        summary: "Continue re-evaluating the devices a vulnerability affects",
        body: jws("vulnerability", "{nonce, id}"),
        query: NONE,
        answer: json(
            200,
            "Done (202 while devices remain)",
            "VulnerabilityProgress",
        ),
        errors: &[400, 404, 415],
        optional_token: false,
    },
    Described {
        op: Op::FixVulnerability,
        summary: "Mark a vulnerability fixed and re-evaluate its devices",
        body: jws("vulnerability", "{nonce, id}"),
        query: NONE,
        answer: json(
            200,
            "Done (202 while devices remain)",
            "VulnerabilityProgress",
        ),
        errors: &[400, 404, 415],
        optional_token: false,
    },
    Described {
        op: Op::Audit,
        summary: "Read the audit trail by day or target (7 i c)",
        body: Body::None,
        query: &[
            ("day", "YYYY-MM-DD (today when no criterion)"),
            ("target", "e.g. a RegDevID or enquirer:<id>"),
            PAGE,
            ("limit", "Page size"),
        ],
        answer: json(200, "A page of audit records", "AuditPage"),
        errors: &[400],
        optional_token: false,
    },
    Described {
        op: Op::AuditCheckpoint,
        summary: "The audit log's latest checkpoint: a C2SP tlog-checkpoint in a signed note, \
                  signed with the registry's key (ECDSA, signature type 0x02; 7 i c)",
        body: Body::None,
        query: NONE,
        answer: Answer {
            status: 200,
            description: "The signed checkpoint",
            media: "text/plain",
            schema: "",
        },
        errors: &[404],
        optional_token: false,
    },
    Described {
        op: Op::AuditTile,
        summary: "A tile of the audit log at its C2SP tlog-tiles path (`<L>/<N>[.p/<W>]` or \
                  `entries/<N>[.p/<W>]`); immutable",
        body: Body::None,
        query: NONE,
        answer: Answer {
            status: 200,
            description: "The tile's bytes",
            media: "application/octet-stream",
            schema: "",
        },
        errors: &[400, 404],
        optional_token: false,
    },
    Described {
        op: Op::AuditInclusion,
        summary: "The inclusion proof of an audit record in the audit log",
        body: Body::None,
        query: &[
            ("record", "The audit record's id"),
            ("size", "Tree size (the latest checkpoint's when absent)"),
        ],
        answer: json(200, "The proof", "InclusionProof"),
        errors: &[400, 404],
        optional_token: false,
    },
    Described {
        op: Op::AuditConsistency,
        summary: "The consistency proof between two sizes of the audit log",
        body: Body::None,
        query: &[
            ("from", "The smaller tree size"),
            ("to", "The larger tree size"),
        ],
        answer: json(200, "The proof", "ConsistencyProof"),
        errors: &[400, 404],
        optional_token: false,
    },
    Described {
        op: Op::Notify,
        summary: "Notify the subscribers of up to 1000 devices at once, on each of their trust \
                  domains' topics (9.4 ii)",
        body: jws(
            "bulk-notification",
            "{nonce, regdevids: [RegDevID] (1 to 1000), message (1 to 2048 bytes)}",
        ),
        query: NONE,
        answer: json(200, "What was published", "BulkNotificationResult"),
        errors: &[400, 415],
        optional_token: false,
    },
];

pub(crate) fn describe(op: Op) -> Option<&'static Described> {
    OPERATIONS.iter().find(|d| d.op == op)
}
