//! The registry's stable error codes: the last segment of a problem's `type` URI (RFC 9457),
//! with its title and HTTP status in one table, so a code cannot be answered with two statuses
//! or drift from its title. docs/API.md ("Problem types") lists the same table; a test of the
//! HTTP crate keeps the two equal.
//!
//! The status is a plain number here: it is part of what each code means in the contract, and
//! the domain stays free of any HTTP library.

/// One stable code of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    MalformedRequest,
    InvalidIdentifier,
    MalformedJws,
    BadSignature,
    UntrustedRoot,
    CertificateExpired,
    InvalidCertificateChain,
    MalformedCertificateChain,
    UnsupportedKey,
    IdentifierMismatch,
    IdentifierOutOfScope,
    NonceInvalid,
    NonceExpired,
    IdempotencyKeyReused,
    IdentifierConflict,
    DeviceNotFound,
    NotAPrimaryRegistry,
    UnknownSigner,
    Forbidden,
    WrongTarget,
    VirtualIdNotFound,
    OwnerNotFound,
    RotTypeNotAccepted,
    VulnerabilityNotFound,
    HoldNotFound,
    Unauthenticated,
    EnquirerNotFound,
    RootNotFound,
    InvalidStateTransition,
    TooManyItems,
    StorageUnavailable,
    KeyServiceUnavailable,
    SubscriptionNotFound,
    SubscriptionLimit,
    SubscriptionRefused,
    SubscriptionConflict,
    NotificationServiceUnavailable,
    InvalidLink,
    LinkConflict,
    // Refusals of the HTTP layer itself, before any flow runs.
    NotFound,
    MethodNotAllowed,
    UnsupportedMediaType,
    PayloadTooLarge,
    UriTooLong,
    RateLimited,
}

/// What a code means: its slug (the `type` URI's last segment), title and HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeSpec {
    pub slug: &'static str,
    pub title: &'static str,
    pub status: u16,
}

const fn spec(slug: &'static str, status: u16, title: &'static str) -> CodeSpec {
    CodeSpec {
        slug,
        title,
        status,
    }
}

impl ErrorCode {
    /// Every code, in the order of docs/API.md's table.
    pub const ALL: [ErrorCode; 45] = {
        use ErrorCode::*;
        [
            MalformedRequest,
            InvalidIdentifier,
            MalformedJws,
            BadSignature,
            UntrustedRoot,
            CertificateExpired,
            InvalidCertificateChain,
            MalformedCertificateChain,
            UnsupportedKey,
            IdentifierMismatch,
            IdentifierOutOfScope,
            NonceInvalid,
            NonceExpired,
            IdempotencyKeyReused,
            IdentifierConflict,
            DeviceNotFound,
            NotAPrimaryRegistry,
            UnknownSigner,
            Forbidden,
            WrongTarget,
            VirtualIdNotFound,
            OwnerNotFound,
            RotTypeNotAccepted,
            VulnerabilityNotFound,
            HoldNotFound,
            Unauthenticated,
            EnquirerNotFound,
            RootNotFound,
            InvalidStateTransition,
            TooManyItems,
            StorageUnavailable,
            KeyServiceUnavailable,
            SubscriptionNotFound,
            SubscriptionLimit,
            SubscriptionRefused,
            SubscriptionConflict,
            NotificationServiceUnavailable,
            InvalidLink,
            LinkConflict,
            NotFound,
            MethodNotAllowed,
            UnsupportedMediaType,
            PayloadTooLarge,
            UriTooLong,
            RateLimited,
        ]
    };

    /// The one table of slugs, statuses and titles.
    pub const fn spec(self) -> CodeSpec {
        use ErrorCode as C;
        match self {
            C::MalformedRequest => spec("malformed-request", 400, "The request is malformed"),
            C::InvalidIdentifier => spec("invalid-identifier", 400, "An identifier is invalid"),
            C::MalformedJws => spec("malformed-jws", 400, "The JWS is malformed"),
            C::BadSignature => spec("bad-signature", 401, "The signature does not verify"),
            C::UntrustedRoot => spec(
                "untrusted-root",
                403,
                "The certificate chain leads to no accepted root of trust",
            ),
            C::CertificateExpired => spec(
                "certificate-expired",
                403,
                "A certificate is expired or not yet valid",
            ),
            C::InvalidCertificateChain => spec(
                "invalid-certificate-chain",
                403,
                "The certificate chain is invalid",
            ),
            C::MalformedCertificateChain => spec(
                "malformed-certificate-chain",
                400,
                "The certificate chain is malformed",
            ),
            C::UnsupportedKey => spec("unsupported-key", 400, "The key type is not supported"),
            C::IdentifierMismatch => spec(
                "identifier-mismatch",
                403,
                "The identifier is not bound to the device certificate",
            ),
            C::IdentifierOutOfScope => spec(
                "identifier-out-of-scope",
                403,
                "The root of trust may not certify this identifier",
            ),
            C::NonceInvalid => spec(
                "nonce-invalid",
                401,
                "The nonce is unknown, used or for another purpose",
            ),
            C::NonceExpired => spec("nonce-expired", 401, "The nonce has expired"),
            C::IdempotencyKeyReused => spec(
                "idempotency-key-reused",
                422,
                "The idempotency key names a different request",
            ),
            C::IdentifierConflict => spec(
                "identifier-conflict",
                409,
                "The identifier is registered with another key",
            ),
            C::DeviceNotFound => spec("device-not-found", 404, "No such device"),
            C::NotAPrimaryRegistry => spec(
                "not-a-primary-registry",
                403,
                "Devices register only at primary registries",
            ),
            C::UnknownSigner => spec(
                "unknown-signer",
                401,
                "The signer of the request is unknown",
            ),
            C::Forbidden => spec("forbidden", 403, "The signer may not do this"),
            C::WrongTarget => spec(
                "wrong-target",
                403,
                "The signed request was made for another method, path or target",
            ),
            C::VirtualIdNotFound => spec(
                "virtual-id-not-found",
                404,
                "No such virtual ID, or it expired or was used",
            ),
            C::OwnerNotFound => spec("owner-not-found", 404, "No such owner or custodian"),
            C::RotTypeNotAccepted => spec(
                "rot-type-not-accepted",
                403,
                "The trust domain does not accept this root-of-trust type",
            ),
            C::VulnerabilityNotFound => {
                spec("vulnerability-not-found", 404, "No such vulnerability")
            }
            C::HoldNotFound => spec("hold-not-found", 404, "The device holds no such hold"),
            C::Unauthenticated => spec(
                "unauthenticated",
                401,
                "The request carries no valid credentials",
            ),
            C::EnquirerNotFound => spec("enquirer-not-found", 404, "No such enquirer"),
            C::RootNotFound => spec("root-not-found", 404, "No such root of trust"),
            C::InvalidStateTransition => spec(
                "invalid-state-transition",
                409,
                "The resource cannot make this change from its state",
            ),
            C::TooManyItems => spec(
                "too-many-items",
                413,
                "The bulk request holds too many items",
            ),
            C::StorageUnavailable => {
                spec("storage-unavailable", 503, "The registry is unavailable")
            }
            C::KeyServiceUnavailable => spec(
                "key-service-unavailable",
                503,
                "The registry is unavailable",
            ),
            C::SubscriptionNotFound => spec("subscription-not-found", 404, "No such subscription"),
            C::SubscriptionLimit => spec(
                "subscription-limit",
                409,
                "The subscriber has as many subscriptions as allowed",
            ),
            C::SubscriptionRefused => spec(
                "subscription-refused",
                400,
                "The notification service refused the subscription",
            ),
            C::SubscriptionConflict => spec(
                "subscription-conflict",
                409,
                "The subscription conflicts with an existing one",
            ),
            C::NotificationServiceUnavailable => spec(
                "notification-service-unavailable",
                503,
                "The notification service is unavailable",
            ),
            C::InvalidLink => spec(
                "invalid-link",
                422,
                "The link does not fit the registry hierarchy",
            ),
            C::LinkConflict => spec(
                "link-conflict",
                409,
                "The link conflicts with an existing one",
            ),
            C::NotFound => spec("not-found", 404, "No such resource"),
            C::MethodNotAllowed => spec("method-not-allowed", 405, "Method not allowed"),
            C::UnsupportedMediaType => {
                spec("unsupported-media-type", 415, "Unsupported media type")
            }
            C::PayloadTooLarge => spec("payload-too-large", 413, "The request body is too large"),
            C::UriTooLong => spec(
                "uri-too-long",
                414,
                "A part of the request's path is too long",
            ),
            C::RateLimited => spec("rate-limited", 429, "Too many requests from this caller"),
        }
    }

    pub const fn as_str(self) -> &'static str {
        self.spec().slug
    }

    /// A slug back to its code, e.g. from a problem's `type` URI.
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == slug)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests and tables compare a code with its slug.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_once_with_its_own_slug() {
        let mut slugs: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), ErrorCode::ALL.len(), "a slug is used twice");
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_slug(code.as_str()), Some(code));
            let status = code.spec().status;
            assert!((400..600).contains(&status), "{code}: {status}");
        }
    }
}
