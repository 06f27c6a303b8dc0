//! The registry's errors. Each client-facing variant has a stable code that the HTTP layer turns
//! into a problem type URI (RFC 9457); store and key failures are the registry's own.

pub use crate::error_code::{CodeSpec, ErrorCode};
use crate::identifier::IdentifierError;
use crate::jose::JoseError;
use crate::rot::ChainError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("the request is malformed: {0}")]
    Malformed(String),
    #[error("invalid {field}: {source}")]
    InvalidIdentifier {
        field: &'static str,
        #[source]
        source: IdentifierError,
    },
    #[error("the JWS is malformed: {0}")]
    MalformedJws(#[source] JoseError),
    #[error("the JWS signature does not verify")]
    BadSignature,
    #[error("the certificate chain does not lead to a root this registry accepts")]
    UntrustedRoot,
    #[error("a certificate of the chain is expired or not yet valid")]
    CertificateExpired,
    #[error("the certificate chain goes through the revoked intermediate CA {0}")]
    IntermediateRevoked(String),
    #[error("the certificate chain is invalid: {0}")]
    InvalidChain(String),
    #[error("the certificate chain is malformed: {0}")]
    MalformedChain(String),
    #[error("the device key is not supported: {0}")]
    UnsupportedKey(String),
    #[error("the identifier {claimed} is not bound to the device certificate")]
    IdentifierMismatch { claimed: String },
    /// The certificate names the identifier, but its root may not certify it (`rot::scope`).
    #[error("the identifier {claimed} is outside the identifiers its root of trust may certify")]
    IdentifierOutOfScope { claimed: String },
    #[error("the nonce is unknown, already used or issued for another purpose")]
    NonceInvalid,
    #[error("the nonce has expired")]
    NonceExpired,
    /// The idempotency key already named another change by the same signer on this target.
    #[error("the idempotency key was used for a different request")]
    IdempotencyKeyReused,
    #[error("{0} is registered with another key")]
    IdentifierConflict(String),
    #[error("no device {0}")]
    DeviceNotFound(String),
    /// Its registration ended (6.3 e): nothing more is done to it, and its identifier does
    /// not register again.
    #[error("{0} is deregistered")]
    Deregistered(String),
    #[error("this registry is {0} and does not accept device registrations")]
    NotPrimary(String),
    #[error("the signer of the request is unknown")]
    UnknownSigner,
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A signed request made for another method, route or target (`crate::binding`).
    #[error("the signed request was made for another request: {0}")]
    WrongTarget(String),
    /// Says nothing of the device behind it: a virtual ID exists so the RegDevID stays private.
    #[error("the virtual ID is unknown, expired or already used")]
    VirtualIdNotFound,
    #[error("no owner or custodian {0}")]
    OwnerNotFound(String),
    #[error("trust domain {domain} does not accept root-of-trust type {rot:?}")]
    RotTypeNotAccepted { domain: String, rot: String },
    #[error("the device's root {root} is not published for root-of-trust type {rot:?}")]
    RotTypeNotPublished { root: String, rot: String },
    /// A `tpm` root of trust claimed without evidence that holds (`rot::tpm`): EK certificate,
    /// credential activation, certification of the registration key.
    #[error("the TPM evidence is invalid: {0}")]
    TpmEvidenceInvalid(String),
    #[error("no vulnerability {0}")]
    VulnerabilityNotFound(String),
    #[error("{0} holds no {1} hold")]
    HoldNotFound(String, String),
    /// A report's `evidence_challenge` is not the device's pending request's (or none is
    /// pending): nothing of the report is stored.
    #[error("{0} has no pending evidence request with this challenge")]
    EvidenceChallengeMismatch(String),
    /// Why is for logs and the problem detail; it never echoes the token.
    #[error("not authenticated: {0}")]
    Unauthenticated(String),
    #[error("no enquirer {0}")]
    EnquirerNotFound(String),
    #[error("no accepted root of trust {0}")]
    RootNotFound(String),
    #[error("invalid state transition: {0}")]
    InvalidTransition(String),
    #[error("too many items: at most {max}")]
    TooManyItems { max: usize },
    #[error("storage failed: {0}")]
    Store(StoreError),
    #[error("registry key operation failed: {0}")]
    Keys(#[from] KeyError),
    #[error("no subscription {0}")]
    SubscriptionNotFound(String),
    #[error("at most {max} subscriptions per subscriber")]
    SubscriptionLimit { max: usize },
    /// The notification service refused the endpoint or filter as invalid: the client's mistake.
    #[error("the subscription was refused: {0}")]
    SubscriptionRefused(String),
    #[error("the subscription conflicts with an existing one: {0}")]
    SubscriptionConflict(String),
    /// The notification service (SNS) failed, or this function has none.
    #[error("notification service failed: {0}")]
    Notify(NotifyError),
    /// The link breaks the hierarchy's shape (Y.3059 6.1 a): wrong kind or path for this
    /// registry's type.
    #[error("the link is not allowed: {0}")]
    InvalidLink(String),
    /// A second parent: a registry has exactly one.
    #[error("the link conflicts with an existing one: {0}")]
    LinkConflict(String),
    /// A checkpoint, tile, leaf or tree size the audit log does not hold (yet).
    #[error("not in the audit log: {0}")]
    LogEntryNotFound(String),
}

impl RegistryError {
    /// Stable code; the last segment of the problem type URI.
    pub fn code(&self) -> ErrorCode {
        use ErrorCode as C;
        match self {
            Self::Malformed(_) => C::MalformedRequest,
            Self::InvalidIdentifier { .. } => C::InvalidIdentifier,
            Self::MalformedJws(_) => C::MalformedJws,
            Self::BadSignature => C::BadSignature,
            Self::UntrustedRoot => C::UntrustedRoot,
            Self::CertificateExpired => C::CertificateExpired,
            Self::IntermediateRevoked(_) => C::IntermediateRevoked,
            Self::InvalidChain(_) => C::InvalidCertificateChain,
            Self::MalformedChain(_) => C::MalformedCertificateChain,
            Self::UnsupportedKey(_) => C::UnsupportedKey,
            Self::IdentifierMismatch { .. } => C::IdentifierMismatch,
            Self::IdentifierOutOfScope { .. } => C::IdentifierOutOfScope,
            Self::NonceInvalid => C::NonceInvalid,
            Self::NonceExpired => C::NonceExpired,
            Self::IdempotencyKeyReused => C::IdempotencyKeyReused,
            Self::IdentifierConflict(_) => C::IdentifierConflict,
            Self::DeviceNotFound(_) => C::DeviceNotFound,
            Self::Deregistered(_) => C::DeviceDeregistered,
            Self::NotPrimary(_) => C::NotAPrimaryRegistry,
            Self::UnknownSigner => C::UnknownSigner,
            Self::Forbidden(_) => C::Forbidden,
            Self::WrongTarget(_) => C::WrongTarget,
            Self::VirtualIdNotFound => C::VirtualIdNotFound,
            Self::OwnerNotFound(_) => C::OwnerNotFound,
            Self::RotTypeNotAccepted { .. } => C::RotTypeNotAccepted,
            Self::RotTypeNotPublished { .. } => C::RotTypeNotPublished,
            Self::TpmEvidenceInvalid(_) => C::TpmEvidenceInvalid,
            Self::VulnerabilityNotFound(_) => C::VulnerabilityNotFound,
            Self::HoldNotFound(..) => C::HoldNotFound,
            Self::EvidenceChallengeMismatch(_) => C::EvidenceChallengeMismatch,
            Self::Unauthenticated(_) => C::Unauthenticated,
            Self::EnquirerNotFound(_) => C::EnquirerNotFound,
            Self::RootNotFound(_) => C::RootNotFound,
            Self::InvalidTransition(_) => C::InvalidStateTransition,
            Self::TooManyItems { .. } => C::TooManyItems,
            Self::Store(_) => C::StorageUnavailable,
            Self::Keys(_) => C::KeyServiceUnavailable,
            Self::SubscriptionNotFound(_) => C::SubscriptionNotFound,
            Self::SubscriptionLimit { .. } => C::SubscriptionLimit,
            Self::SubscriptionRefused(_) => C::SubscriptionRefused,
            Self::SubscriptionConflict(_) => C::SubscriptionConflict,
            Self::Notify(_) => C::NotificationServiceUnavailable,
            Self::InvalidLink(_) => C::InvalidLink,
            Self::LinkConflict(_) => C::LinkConflict,
            Self::LogEntryNotFound(_) => C::LogEntryNotFound,
        }
    }

    /// True when the fault is the registry's, not the client's.
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Store(_) | Self::Keys(_) | Self::Notify(_))
    }
}

impl From<StoreError> for RegistryError {
    /// A cursor the store refuses was forged or mangled by the client.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidCursor(_) => Self::Malformed(e.to_string()),
            StoreError::Failed(_) => Self::Store(e),
        }
    }
}

impl From<crate::rot::tpm::TpmError> for RegistryError {
    fn from(e: crate::rot::tpm::TpmError) -> Self {
        Self::TpmEvidenceInvalid(e.to_string())
    }
}

impl From<ChainError> for RegistryError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::UntrustedRoot => Self::UntrustedRoot,
            ChainError::Expired => Self::CertificateExpired,
            ChainError::IntermediateRevoked(id) => Self::IntermediateRevoked(id),
            ChainError::BadChain(why) => Self::InvalidChain(why),
            ChainError::Malformed(why) => Self::MalformedChain(why),
            ChainError::UnsupportedKey(why) => Self::UnsupportedKey(why),
        }
    }
}

/// A storage adapter's failure. Conditional-check outcomes are not errors: ports return them
/// as values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A paging cursor the store did not hand out: forged or mangled by the client.
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),
    /// The store failed, throttled or held something it cannot read: the registry's fault.
    #[error("{0}")]
    Failed(String),
}

impl StoreError {
    pub fn invalid_cursor(why: &str) -> Self {
        Self::InvalidCursor(why.to_owned())
    }

    pub fn is_invalid_cursor(&self) -> bool {
        matches!(self, Self::InvalidCursor(_))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

/// A notification service's failure (SNS).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The service refused the request as invalid (a bad endpoint or filter policy): the
    /// client's mistake, not the service's failure.
    #[error("refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

impl NotifyError {
    pub fn refused(why: &str) -> Self {
        Self::Refused(why.to_owned())
    }
}

impl From<NotifyError> for RegistryError {
    fn from(e: NotifyError) -> Self {
        match e {
            NotifyError::Refused(_) => Self::SubscriptionRefused(e.to_string()),
            NotifyError::Failed(_) => Self::Notify(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A forged paging cursor is the client's mistake (400), any other store failure ours.
    #[test]
    fn an_invalid_cursor_is_malformed_not_a_store_failure() {
        let forged = RegistryError::from(StoreError::invalid_cursor("not base64url"));
        assert_eq!(forged.code(), "malformed-request");
        assert!(!forged.is_internal());
        let down = RegistryError::from(StoreError::Failed("timeout".into()));
        assert!(down.is_internal());
    }
}
