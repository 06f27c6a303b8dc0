//! The registry's stable error codes: the last segment of a problem's `type` URI (RFC 9457),
//! with its title and HTTP status in one table, so a code cannot be answered with two statuses
//! or drift from its title. docs/API.md ("Problem types") lists the same table; a test of the
//! HTTP crate keeps the two equal.
//!
//! The status is a plain number here: it is part of what each code means in the contract, and
//! the domain stays free of any HTTP library.

/// Declares the codes: each once, with its slug, status and title. The macro makes the enum,
/// `ALL` (so no code can be left out of the list) and `spec` from the one table.
macro_rules! error_codes {
    ($($variant:ident => ($slug:literal, $status:literal, $title:literal),)*) => {
        /// One stable code of the contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order of docs/API.md's table.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The one table of slugs, statuses and titles.
            pub const fn spec(self) -> CodeSpec {
                match self {
                    $(ErrorCode::$variant => CodeSpec {
                        slug: $slug,
                        title: $title,
                        status: $status,
                    },)*
                }
            }
        }
    };
}

error_codes! {
    MalformedRequest => ("malformed-request", 400, "The request is malformed"),
    InvalidIdentifier => ("invalid-identifier", 400, "An identifier is invalid"),
    MalformedJws => ("malformed-jws", 400, "The JWS is malformed"),
    BadSignature => ("bad-signature", 401, "The signature does not verify"),
    UntrustedRoot => ("untrusted-root", 403, "The certificate chain leads to no accepted root of trust"),
    CertificateExpired => ("certificate-expired", 403, "A certificate is expired or not yet valid"),
    IntermediateRevoked => ("intermediate-revoked", 403, "The certificate chain goes through a revoked intermediate CA"),
    InvalidCertificateChain => ("invalid-certificate-chain", 403, "The certificate chain is invalid"),
    MalformedCertificateChain => ("malformed-certificate-chain", 400, "The certificate chain is malformed"),
    UnsupportedKey => ("unsupported-key", 400, "The key type is not supported"),
    IdentifierMismatch => ("identifier-mismatch", 403, "The identifier is not bound to the device certificate"),
    IdentifierOutOfScope => ("identifier-out-of-scope", 403, "The root of trust may not certify this identifier"),
    NonceInvalid => ("nonce-invalid", 401, "The nonce is unknown, used or for another purpose"),
    NonceExpired => ("nonce-expired", 401, "The nonce has expired"),
    IdempotencyKeyReused => ("idempotency-key-reused", 422, "The idempotency key names a different request"),
    IdentifierConflict => ("identifier-conflict", 409, "The identifier is registered with another key"),
    DeviceNotFound => ("device-not-found", 404, "No such device"),
    DeviceDeregistered => ("device-deregistered", 409, "The device is deregistered"),
    NotAPrimaryRegistry => ("not-a-primary-registry", 403, "Devices register only at primary registries"),
    UnknownSigner => ("unknown-signer", 401, "The signer of the request is unknown"),
    Forbidden => ("forbidden", 403, "The signer may not do this"),
    WrongTarget => ("wrong-target", 403, "The signed request was made for another method, path or target"),
    VirtualIdNotFound => ("virtual-id-not-found", 404, "No such virtual ID, or it expired or was used"),
    OwnerNotFound => ("owner-not-found", 404, "No such owner or custodian"),
    RotTypeNotAccepted => ("rot-type-not-accepted", 403, "The trust domain does not accept this root-of-trust type"),
    RotTypeNotPublished => ("rot-type-not-published", 403, "The device's root of trust is not published for this root-of-trust type"),
    TpmEvidenceInvalid => ("tpm-evidence-invalid", 403, "The TPM evidence does not prove the device's key is in a genuine TPM"),
    VulnerabilityNotFound => ("vulnerability-not-found", 404, "No such vulnerability"),
    HoldNotFound => ("hold-not-found", 404, "The device holds no such hold"),
    EvidenceChallengeMismatch => ("evidence-challenge-mismatch", 409, "The report answers no pending evidence request of the device"),
    Unauthenticated => ("unauthenticated", 401, "The request carries no valid credentials"),
    EnquirerNotFound => ("enquirer-not-found", 404, "No such enquirer"),
    RootNotFound => ("root-not-found", 404, "No such root of trust"),
    InvalidStateTransition => ("invalid-state-transition", 409, "The resource cannot make this change from its state"),
    TooManyItems => ("too-many-items", 413, "The bulk request holds too many items"),
    StorageUnavailable => ("storage-unavailable", 503, "The registry is unavailable"),
    KeyServiceUnavailable => ("key-service-unavailable", 503, "The registry is unavailable"),
    SubscriptionNotFound => ("subscription-not-found", 404, "No such subscription"),
    SubscriptionLimit => ("subscription-limit", 409, "The subscriber has as many subscriptions as allowed"),
    SubscriptionRefused => ("subscription-refused", 400, "The notification service refused the subscription"),
    SubscriptionConflict => ("subscription-conflict", 409, "The subscription conflicts with an existing one"),
    NotificationServiceUnavailable => ("notification-service-unavailable", 503, "The notification service is unavailable"),
    InvalidLink => ("invalid-link", 422, "The link does not fit the registry hierarchy"),
    LinkConflict => ("link-conflict", 409, "The link conflicts with an existing one"),
    LogEntryNotFound => ("log-entry-not-found", 404, "No such entry in the audit log"),
    NotFound => ("not-found", 404, "No such resource"),
    MethodNotAllowed => ("method-not-allowed", 405, "Method not allowed"),
    UnsupportedMediaType => ("unsupported-media-type", 415, "Unsupported media type"),
    PayloadTooLarge => ("payload-too-large", 413, "The request body is too large"),
    UriTooLong => ("uri-too-long", 414, "A part of the request's path is too long"),
    RateLimited => ("rate-limited", 429, "Too many requests from this caller"),
}

/// What a code means: its slug (the `type` URI's last segment), title and HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeSpec {
    pub slug: &'static str,
    pub title: &'static str,
    pub status: u16,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        self.spec().slug
    }

    /// A slug back to its code, e.g. from a problem's `type` URI.
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == slug)
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
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_slug(code.as_str()), Some(code));
            let status = code.spec().status;
            assert!((400..600).contains(&status), "{code}: {status}");
        }
    }
}
