//! The schemas of the main request bodies and answers, built by hand: the core's types stay
//! free of any OpenAPI dependency. Field names follow their serde forms in trustreg-core.

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
use utoipa::openapi::{Components, ComponentsBuilder, RefOr, Schema};

use super::{BEARER_AUTH, bearer_scheme};

fn text(description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .into()
}

fn integer(description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .description(Some(description))
        .into()
}

fn boolean(description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .description(Some(description))
        .into()
}

fn one_of_strings(values: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .into()
}

fn array(item: RefOr<Schema>) -> RefOr<Schema> {
    ArrayBuilder::new().items(item).into()
}

fn strings(description: &str) -> RefOr<Schema> {
    ArrayBuilder::new().items(text(description)).into()
}

fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}

/// An object described in words, its fields those of the named core type.
fn free(description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .description(Some(description))
        .additional_properties(Some(
            ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::AnyValue),
        ))
        .into()
}

/// An object of `fields`; a name ending in `?` is optional.
fn object(description: &str, fields: Vec<(&str, RefOr<Schema>)>) -> RefOr<Schema> {
    let mut builder = ObjectBuilder::new().description(Some(description));
    for (name, schema) in fields {
        let name = match name.strip_suffix('?') {
            Some(optional) => optional,
            None => {
                builder = builder.required(name);
                name
            }
        };
        builder = builder.property(name, schema);
    }
    builder.into()
}

/// A non-blank text of 1 to `max` characters, as the registry checks it.
fn bounded(max: usize, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some("\\S"))
        .description(Some(description))
        .into()
}

/// `object(description, fields)` that refuses other members, as the core's type does
/// (`deny_unknown_fields`): a generic tool then knows an unknown member is a 400.
fn closed(description: &str, fields: Vec<(&str, RefOr<Schema>)>) -> RefOr<Schema> {
    match object(description, fields) {
        RefOr::T(Schema::Object(mut object)) => {
            object.additional_properties = Some(Box::new(
                utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
            ));
            RefOr::T(Schema::Object(object))
        }
        other => other,
    }
}

/// A public P-256 key as a JWK (RFC 7517); a private one (with `d`) is refused.
fn jwk() -> RefOr<Schema> {
    let coordinate = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[A-Za-z0-9_-]{43}$"))
            .description(Some("base64url of the 32-byte coordinate"))
    };
    ObjectBuilder::new()
        .description(Some(
            "A public P-256 key as a JWK (RFC 7517): kty EC, crv P-256, x, y; other public \
             members are ignored, a private key (d) is refused",
        ))
        .property("kty", one_of_strings(&["EC"]))
        .property("crv", one_of_strings(&["P-256"]))
        .property("x", coordinate())
        .property("y", coordinate())
        .required("kty")
        .required("crv")
        .required("x")
        .required("y")
        .into()
}

fn problem() -> RefOr<Schema> {
    object(
        "RFC 9457 problem details: every error answer (`application/problem+json`).",
        vec![
            (
                "type",
                text(
                    "Stable URI of the problem, e.g. https://trustreg.dev/problems/untrusted-root",
                ),
            ),
            ("title", text("Short title of the problem type")),
            ("status", integer("The HTTP status")),
            ("detail", text("What was wrong with this request")),
        ],
    )
}

const DEVICE_ANSWER: &str = "One device as the caller may see it: the public gets `id`, `status`, \
     `status_since` and `registry`; enquirers the details too; the device's owner and \
     administrators the owner with PII. `regdevid` is shown behind a virtual ID only to the \
     owner and admins.";

fn device_answer() -> RefOr<Schema> {
    object(DEVICE_ANSWER, device_answer_fields())
}

/// The members of core's `DeviceAnswer` (lookups.rs), in its order.
fn device_answer_fields() -> Vec<(&'static str, RefOr<Schema>)> {
    vec![
        ("id", text("The id as asked: a RegDevID or a virtual ID")),
        ("regdevid?", text("RegDevID")),
        ("status", reference("TrustStatus")),
        ("status_since", text("RFC 3339")),
        ("registry", text("The registry's path, e.g. IN1.HLT.P07")),
        ("make?", text("Make")),
        ("model?", text("Model")),
        ("trust_domains?", strings("Trust domain")),
        (
            "capabilities?",
            strings("Communication technology or protocol"),
        ),
        (
            "device?",
            free("Make, model, versions, root of trust, communication, power, protocols"),
        ),
        ("reasons?", strings("Why the status is not trusted")),
        ("registered_at?", text("RFC 3339")),
        (
            "owner_id?",
            text("The device's owner or custodian id: for administrators and that owner only"),
        ),
        (
            "owner?",
            free("The owner or custodian with its attributes (PII)"),
        ),
        (
            "origin?",
            text(
                "Only when answered from the mirror: the path of the registry the device is registered at",
            ),
        ),
        (
            "as_of?",
            text("With origin: when this registry learnt the status (RFC 3339)"),
        ),
    ]
}

/// `DeviceAnswer`'s members and the statement (core's `LookupAnswer` flattens it): one object
/// rather than an `allOf`, so that it can say which members it has and no others.
fn lookup_answer() -> RefOr<Schema> {
    let mut fields = device_answer_fields();
    fields.push((
        "statement",
        text("Compact JWS by the registry's key of the answer and when it was said"),
    ));
    object(
        &format!("{DEVICE_ANSWER} With the registry's signed statement of the answer."),
        fields,
    )
}

fn bulk_lookup_result() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(reference("DeviceAnswer"))
        .item(object(
            "An id that could not be answered.",
            vec![
                ("id", text("The id as asked")),
                ("error", text("The problem code, e.g. device-not-found")),
            ],
        ))
        .into()
}

fn bulk_registration_answer() -> RefOr<Schema> {
    let item = object(
        "The outcome of one item, in the request's order.",
        vec![
            ("index", integer("Position of the item in the request")),
            (
                "status",
                integer("201 created, 200 already registered, or the problem's"),
            ),
            ("regdevid?", text("RegDevID")),
            ("trust_status?", reference("TrustStatus")),
            ("credential?", text("The device credential (JWS)")),
            ("problem?", reference("Problem")),
        ],
    );
    object(
        "One result per item; one bad item never fails the rest.",
        vec![
            (
                "summary",
                object(
                    "Counts",
                    vec![
                        ("created", integer("New devices")),
                        ("existing", integer("Already registered with the same key")),
                        ("failed", integer("Items refused")),
                    ],
                ),
            ),
            ("results", array(item)),
        ],
    )
}

/// Every named schema the operations refer to.
pub(crate) fn components() -> Components {
    let status = |extra: Vec<(&'static str, RefOr<Schema>)>, description: &str| {
        let mut fields = vec![
            ("regdevid", text("RegDevID")),
            ("status", reference("TrustStatus")),
        ];
        fields.extend(extra);
        object(description, fields)
    };
    let schemas: Vec<(&str, RefOr<Schema>)> = vec![
        ("Problem", problem()),
        (
            "TrustStatus",
            one_of_strings(&["trusted", "unverified", "unreliable", "deregistered"]),
        ),
        (
            "Role",
            one_of_strings(&[
                "device",
                "admin",
                "owner",
                "manufacturer",
                "enquirer",
                "agency",
            ]),
        ),
        (
            "ChallengeRequest",
            closed(
                "What the nonce will be spent on.",
                vec![
                    (
                        "purpose",
                        one_of_strings(&[
                            "register",
                            "acknowledge",
                            "report",
                            "login",
                            "virtual-id",
                            "owner",
                            "owner-verification",
                            "transfer",
                            "vulnerability",
                            "hold",
                            "deregister",
                            "bulk",
                            "trust-domain",
                            "enquirer-decision",
                            "root",
                            "bulk-notification",
                            "link",
                            "evidence-request",
                            "feed",
                            "tpm-activation",
                        ]),
                    ),
                    ("tpm?", reference("TpmActivationRequest")),
                ],
            ),
        ),
        (
            "TpmActivationRequest",
            closed(
                "A TPM's identity, for purpose `tpm-activation` only (and then required): \
                 API.md \"TPM devices\".",
                vec![
                    (
                        "ek_certificates",
                        strings("The EK certificate then its CAs, base64 DER (as x5c)"),
                    ),
                    (
                        "ek_public",
                        text("TPM2B_PUBLIC of the EK, base64url without padding"),
                    ),
                    (
                        "ak_public",
                        text("TPM2B_PUBLIC of the AK, base64url without padding"),
                    ),
                ],
            ),
        ),
        (
            "TpmCredential",
            object(
                "TPM2_MakeCredential for the EK and the AK's Name (TPM 2.0 Part 1 §24).",
                vec![
                    (
                        "credential_blob",
                        text("TPM2B_ID_OBJECT, base64url without padding"),
                    ),
                    (
                        "encrypted_secret",
                        text("TPM2B_ENCRYPTED_SECRET, base64url without padding"),
                    ),
                ],
            ),
        ),
        (
            "ChallengeResponse",
            object(
                "A single-use nonce, valid for 5 minutes and for its purpose only.",
                vec![
                    ("nonce", text("The nonce to put in the signed claims")),
                    ("expires_at", text("RFC 3339")),
                    ("tpm?", reference("TpmCredential")),
                ],
            ),
        ),
        (
            "RegistrationResponse",
            status(
                vec![(
                    "credential",
                    text("The registry-signed device credential (JWS)"),
                )],
                "The device's RegDevID and its status.",
            ),
        ),
        (
            "AcknowledgementResponse",
            status(vec![], "The device confirmed its RegDevID."),
        ),
        (
            "ReportResponse",
            status(
                vec![
                    ("received_at", text("RFC 3339")),
                    ("changed", strings("Security parameter that changed")),
                ],
                "The report is stored with its time.",
            ),
        ),
        (
            "VirtualIdResponse",
            object(
                "A temporary id that stands for the RegDevID.",
                vec![
                    ("virtual_id", text("<path>:v:<26 chars base32>")),
                    ("expires_at", text("RFC 3339")),
                ],
            ),
        ),
        (
            "OwnerResponse",
            object(
                "An owner or custodian, without its PII.",
                vec![
                    ("owner_id", text("Owner id")),
                    ("kind", one_of_strings(&["owner", "custodian"])),
                    (
                        "verification",
                        one_of_strings(&["unverified", "verified", "rejected"]),
                    ),
                ],
            ),
        ),
        (
            "TransferResponse",
            status(
                vec![
                    ("owner_id", text("The device's owner")),
                    (
                        "offered_to?",
                        text(
                            "Only in an offer (202): the owner the device is offered to, until \
                             it accepts",
                        ),
                    ),
                ],
                "The device's owner, and the owner it is offered to.",
            ),
        ),
        (
            "DeregistrationResponse",
            status(
                vec![
                    (
                        "deregistered_at",
                        text("RFC 3339: when the registration ended"),
                    ),
                    (
                        "reason",
                        one_of_strings(&["decommissioned", "lost", "stolen", "end-of-custody"]),
                    ),
                ],
                "The device's deregistration; its status is deregistered.",
            ),
        ),
        (
            "OwnerRevocationResponse",
            status(
                vec![
                    ("former_owner_id", text("The owner whose custody ended")),
                    ("revoked_at", text("RFC 3339: when the custody ended")),
                ],
                "The device, now without an owner.",
            ),
        ),
        (
            "EvidenceRequestView",
            object(
                "The registry's pending request for a device's fresh evidence (9.2 note).",
                vec![
                    ("regdevid", text("The device")),
                    (
                        "challenge",
                        text("What the device's report carries as evidence_challenge"),
                    ),
                    ("requested_at", text("RFC 3339")),
                    (
                        "due_at",
                        text("RFC 3339: unanswered after it, the device is unverified"),
                    ),
                ],
            ),
        ),
        (
            "FeedResponse",
            object(
                "A device's feed (9.4 i b).",
                vec![(
                    "feed",
                    text(
                        "Compact JWS, typ trustreg-feed+jwt, signed like a statement (its \
                         delegation in dlg, verified with the key of GET /v1/registry); \
                         payload {iss, iat, regdevid, status, evidence_request?: \
                         EvidenceRequestView, vulnerabilities: [{id, severity}], items: \
                         [{at, from?, to, reasons, cause}], next?}",
                    ),
                )],
            ),
        ),
        (
            "HoldResponse",
            status(vec![("holds", strings("Hold kind"))], "The device's holds."),
        ),
        ("BulkRegistrationAnswer", bulk_registration_answer()),
        ("Jwk", jwk()),
        (
            "SignUpRequest",
            closed(
                "An enquirer or agency asking for access; pending until an admin approves.",
                vec![
                    ("name", bounded(256, "Name")),
                    ("organisation", bounded(256, "Organisation")),
                    ("contact", bounded(256, "Contact (kept sealed)")),
                    ("role", one_of_strings(&["enquirer", "agency"])),
                    ("public_key", reference("Jwk")),
                ],
            ),
        ),
        (
            "EnquirerView",
            object(
                "An enquirer as the registry shows it (its contact stays sealed).",
                vec![
                    (
                        "enquirer_id",
                        text(
                            "The enquirer's id: what every field and path naming an enquirer \
                             takes, the login's enquirer_id claim included",
                        ),
                    ),
                    (
                        "kid",
                        text("What its signatures name in their kid: enquirer:<enquirer_id>"),
                    ),
                    ("name", text("Name")),
                    ("organisation", text("Organisation")),
                    ("role", reference("Role")),
                    (
                        "state",
                        one_of_strings(&["pending", "approved", "rejected", "revoked"]),
                    ),
                    ("created_at", text("RFC 3339")),
                    ("decided_by?", text("The administrator who last decided")),
                ],
            ),
        ),
        (
            "EnquirerList",
            object(
                "A page of enquirers.",
                vec![
                    ("enquirers", array(reference("EnquirerView"))),
                    ("next?", text("Cursor of the next page")),
                ],
            ),
        ),
        (
            "SessionResponse",
            object(
                "An access token for `Authorization: Bearer`.",
                vec![
                    ("access_token", text("JWT signed by the registry's key")),
                    ("token_type", one_of_strings(&["Bearer"])),
                    ("expires_in", integer("Seconds")),
                ],
            ),
        ),
        ("DeviceAnswer", device_answer()),
        ("LookupAnswer", lookup_answer()),
        (
            "SearchAnswer",
            object(
                "A page of devices.",
                vec![
                    ("devices", array(reference("DeviceAnswer"))),
                    ("next?", text("Cursor of the next page")),
                    ("statement", text("The registry's signed statement (JWS)")),
                ],
            ),
        ),
        (
            "HistoryAnswer",
            object(
                "The device's initial information and every report and status transition, \
                 time-ordered.",
                vec![
                    ("regdevid", text("RegDevID")),
                    ("initial", free("The device information at registration")),
                    (
                        "entries",
                        array(free("A report or a status transition, timestamped")),
                    ),
                    ("statement", text("The registry's signed statement (JWS)")),
                ],
            ),
        ),
        (
            "VulnerabilitiesAnswer",
            object(
                "The vulnerabilities that affect the device, timestamped, with their source.",
                vec![
                    ("regdevid", text("RegDevID")),
                    ("vulnerabilities", array(free("A vulnerability link"))),
                    ("statement", text("The registry's signed statement (JWS)")),
                ],
            ),
        ),
        (
            "BulkLookupRequest",
            closed(
                "Up to 1000 ids.",
                vec![(
                    "ids",
                    ArrayBuilder::new()
                        .items(text("A RegDevID or a virtual ID"))
                        .min_items(Some(1))
                        .max_items(Some(trustreg_core::lookups::MAX_BULK_LOOKUP))
                        .into(),
                )],
            ),
        ),
        (
            "BulkLookupAnswer",
            object(
                "One result per id, in order.",
                vec![
                    ("results", array(bulk_lookup_result())),
                    ("statement", text("The registry's signed statement (JWS)")),
                ],
            ),
        ),
        (
            "RegistryDocument",
            free(
                "RegID, path, type, parent, peers, trust domains and their policies, public \
                 key (JWK), accepted roots of trust, protocols, links",
            ),
        ),
        (
            "DomainPolicy",
            free("A trust domain's status policy as stored"),
        ),
        (
            "RootOfTrust",
            object(
                "An accepted manufacturer root of trust.",
                vec![
                    ("id", text("Hex SHA-256 of the certificate's DER")),
                    ("name", text("Name")),
                    ("certificate", text("Base64 DER")),
                    ("rot_types", strings("Root-of-trust type it vouches for")),
                    (
                        "identifier_scopes",
                        strings(
                            "The identifiers it may certify: imei:<TAC>, mac:<OUI>, \
                             eui64:<prefix>, serial:<manufacturer>, ipv6:<prefix>/<length>",
                        ),
                    ),
                    (
                        "revoked_intermediates?",
                        strings(
                            "Intermediate CAs under it that are revoked, by the hex SHA-256 \
                             of their DER: a chain through one proves nothing (403 \
                             intermediate-revoked; its devices unreliable, reason \
                             intermediate_revoked)",
                        ),
                    ),
                ],
            ),
        ),
        (
            "RootRemoved",
            object(
                "The root is no longer accepted.",
                vec![
                    ("id", text("The root's id")),
                    (
                        "reevaluated",
                        integer("Devices that chained to it, re-evaluated"),
                    ),
                ],
            ),
        ),
        (
            "VulnerabilityProgress",
            object(
                "Progress of a vulnerability's re-evaluation of devices.",
                vec![
                    ("id", text("Vulnerability id")),
                    ("affected_so_far", integer("Devices re-evaluated so far")),
                    (
                        "complete",
                        boolean("False while devices remain: call apply"),
                    ),
                ],
            ),
        ),
        (
            "AuditRecord",
            object(
                "One recorded transaction (7 i c).",
                vec![
                    ("id", text("Sortable id")),
                    ("at_ms", integer("Milliseconds since the epoch")),
                    (
                        "actor",
                        text("Who: device:, admin:, owner:, enquirer:, unknown"),
                    ),
                    ("action", text("What")),
                    ("target?", text("On what")),
                    ("outcome", one_of_strings(&["accepted", "rejected"])),
                    ("code?", text("For a rejection, the problem code")),
                    (
                        "leaf?",
                        integer("Its leaf index in the audit log, once sequenced"),
                    ),
                ],
            ),
        ),
        (
            "InclusionProof",
            object(
                "RFC 9162 inclusion proof of a record's leaf in the audit log.",
                vec![
                    ("record", text("The audit record's id")),
                    ("leaf_index", integer("Its leaf index")),
                    ("tree_size", integer("The size of the tree it is proved in")),
                    ("hashes", array(text("The audit path, bottom up, base64"))),
                ],
            ),
        ),
        (
            "ConsistencyProof",
            object(
                "RFC 9162 consistency proof between two sizes of the audit log.",
                vec![
                    ("from", integer("The smaller tree size")),
                    ("to", integer("The larger tree size")),
                    ("hashes", array(text("The proof's hashes, base64"))),
                ],
            ),
        ),
        (
            "BulkNotificationResult",
            object(
                "What a bulk notification published: one message per device and trust domain.",
                vec![
                    (
                        "id",
                        text("Names the request in the messages and the audit trail"),
                    ),
                    ("devices", integer("Devices notified")),
                    ("published", integer("Messages published")),
                    (
                        "failed",
                        array(text("RegDevIDs of which some message was not published")),
                    ),
                    (
                        "unknown",
                        array(text("RegDevIDs this registry does not hold")),
                    ),
                ],
            ),
        ),
        (
            "AuditPage",
            object(
                "A page of audit records.",
                vec![
                    ("records", array(reference("AuditRecord"))),
                    ("next?", text("Cursor of the next page")),
                ],
            ),
        ),
        (
            "SubscriptionRequest",
            closed(
                "A subscription to one trust domain's notifications (9.4 i a). No other field.",
                vec![
                    (
                        "trust_domain",
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .max_length(Some(trustreg_core::domains::MAX_DOMAIN_NAME))
                            .pattern(Some("^[a-z](-?[a-z0-9])*$"))
                            .description(Some("One of the registry's trust domains"))
                            .into(),
                    ),
                    ("protocol", one_of_strings(&["sqs", "https", "email"])),
                    (
                        "endpoint",
                        text(
                            "An SQS queue ARN (its queue policy lets the domain's topic send), \
                             an https:// URL (http:// only to loopback) or an email address",
                        ),
                    ),
                    ("filter?", reference("FilterPolicy")),
                ],
            ),
        ),
        (
            "FilterPolicy",
            free(
                "An SNS filter policy on message attributes: up to 5 of event, status, \
                 previous_status, make, model, regdevid, severity, registry, each a non-empty \
                 array of strings, numbers or operators (anything-but, prefix, numeric); \
                 statuses are trusted, unverified or unreliable; at most 150 combinations of \
                 values. Absent or {}: every notification of the domain.",
            ),
        ),
        (
            "Subscription",
            object(
                "A subscription as its owner sees it (the endpoint stays sealed).",
                vec![
                    ("subscription_id", text("Id")),
                    ("trust_domain", text("Trust domain")),
                    ("protocol", one_of_strings(&["sqs", "https", "email"])),
                    ("filter", reference("FilterPolicy")),
                    (
                        "state",
                        one_of_strings(&["confirmed", "pending-confirmation", "removed"]),
                    ),
                    ("created_at", text("RFC 3339")),
                ],
            ),
        ),
        (
            "SubscriptionList",
            object(
                "The caller's subscriptions, oldest first.",
                vec![("subscriptions", array(reference("Subscription")))],
            ),
        ),
        (
            "StatusList",
            object(
                "One page of a status list: this registry's own devices, then those mirrored \
                 from below it.",
                vec![
                    ("registry", text("The registry's path")),
                    ("status", reference("TrustStatus")),
                    (
                        "devices",
                        array(object(
                            "A listed device.",
                            vec![
                                ("regdevid", text("RegDevID")),
                                ("status_since", text("RFC 3339")),
                                (
                                    "origin",
                                    text("The path of the registry it is registered at"),
                                ),
                                ("as_of", text("When this registry learnt it (RFC 3339)")),
                            ],
                        )),
                    ),
                    ("next?", text("Cursor of the next page")),
                    (
                        "statement",
                        text("Compact JWS by the registry of {registry, status, devices, next}"),
                    ),
                ],
            ),
        ),
        (
            "Link",
            object(
                "A linked registry of the hierarchy.",
                vec![
                    ("reg_id", text("Its RegID")),
                    ("path", text("Its registry path, e.g. IN1.HLT")),
                    ("kind", one_of_strings(&["parent", "child", "peer"])),
                    ("public_key", free("Its signing key (public JWK)")),
                    ("inbox", text("Its exchange inbox URL")),
                    ("linked_at_ms", integer("Milliseconds since the epoch")),
                    ("linked_by", text("The administrator who linked it")),
                ],
            ),
        ),
        (
            "StatusCounts",
            object(
                "Devices per trust status.",
                vec![
                    ("trusted", integer("Trusted devices")),
                    ("unverified", integer("Unverified devices")),
                    ("unreliable", integer("Unreliable devices")),
                    ("deregistered", integer("Deregistered devices (6.3 e)")),
                ],
            ),
        ),
        (
            "Statistics",
            object(
                "Device counts of this registry's own devices and, at sectoral and \
                 geographical registries, of those mirrored from below; the latest status \
                 changes of its own devices.",
                vec![
                    ("as_of", text("When the counts were read (RFC 3339)")),
                    ("by_status", reference("StatusCounts")),
                    (
                        "by_domain",
                        ObjectBuilder::new()
                            .description(Some(
                                "Trust domain -> its devices per status; every hosted domain, \
                                 and a device of several domains counts in each",
                            ))
                            .additional_properties(Some(reference("StatusCounts")))
                            .into(),
                    ),
                    (
                        "recent_transitions",
                        array(object(
                            "A status change, newest first (at most 20, from the last 7 \
                             days); registrations are not listed.",
                            vec![
                                ("regdevid", text("RegDevID")),
                                ("from", reference("TrustStatus")),
                                ("to", reference("TrustStatus")),
                                ("at", text("RFC 3339")),
                            ],
                        )),
                    ),
                    (
                        "statement",
                        text("Compact JWS by the registry of the statistics without it"),
                    ),
                ],
            ),
        ),
        ("OpenApiDocument", free("This document (OpenAPI 3.1)")),
    ];
    schemas
        .into_iter()
        .fold(ComponentsBuilder::new(), |builder, (name, schema)| {
            builder.schema(name, schema)
        })
        .security_scheme(BEARER_AUTH, bearer_scheme())
        .build()
}
