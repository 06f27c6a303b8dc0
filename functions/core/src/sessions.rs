//! Enquirers (Y.3059 9.3 i a, 9.4 i a): sign-up, an administrator's decision, login by
//! challenge-response (9.3 iii) that yields a short-lived access token signed by the registry's
//! KMS key, and the verification of that token on every request with the cached public key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::actors::{Role, unverified_actor, unverified_kid};
use crate::error::{RegistryError, StoreError};
use crate::jose;
use crate::messages::Purpose;
use crate::ports::{Page, Updated};
use crate::records::{EnquirerRecord, EnquirerState};
use crate::service::{Registry, UPDATE_ATTEMPTS, rfc3339};
use trustreg_model::routes::{Access, Op};

/// The `typ` of access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
const MAX_TEXT: usize = 256;
const ENQUIRERS_PAGE: usize = 50;
/// Tolerated clock skew between the registry's instances.
const SKEW_MS: u64 = 60_000;
/// A kid longer than this is not ours: audit records name such a signer `unknown`.
use crate::actors::MAX_KID;
pub use crate::instance::STANDING_TTL_MS;

/// Who a request's bearer token says is asking. No token: anonymous (`public`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// How audit records name it: `enquirer:<id>`, `owner:<id>` or `admin:<name>`.
    pub subject: String,
    pub role: Role,
    pub expires_at_ms: u64,
}

/// Claims of an access token (RFC 9068 shape); times in seconds since the epoch.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    sub: String,
    role: Role,
    iat: u64,
    exp: u64,
    jti: String,
}

impl Principal {
    /// The owner id when the principal is an owner or custodian.
    pub fn owner_id(&self) -> Option<&str> {
        self.subject.strip_prefix("owner:")
    }
}

/// `POST /v1/enquirers`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUpRequest {
    pub name: String,
    pub organisation: String,
    pub contact: String,
    /// `enquirer` or `agency`.
    pub role: Role,
    /// P-256 JWK: the key that signs the enquirer's login challenges.
    pub public_key: serde_json::Value,
}

/// An enquirer as the registry shows it (its contact stays sealed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnquirerView {
    /// The enquirer's id, the form every field and path that names an enquirer takes.
    pub enquirer_id: String,
    /// What its signatures name in their `kid`: `enquirer:<enquirer_id>`. Given so that no
    /// client has to know how a signer name is made from an id.
    pub kid: String,
    pub name: String,
    pub organisation: String,
    pub role: Role,
    pub state: EnquirerState,
    /// RFC 3339.
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Reject,
    Revoke,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Revoke => "revoke",
        }
    }
}

/// Payload of `POST /v1/admin/enquirers/{id}/decision`, signed by an administrator over an
/// `enquirer-decision` nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionClaims {
    pub nonce: String,
    pub decision: Decision,
    /// A new role (`enquirer` or `agency`), when the administrator changes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// Payload of the login JWS (`POST /v1/sessions`), signed with the key that `kid` names:
/// `enquirer:<id>`, `owner:<id>` or `admin:<name>`. `enquirer_id` (a historic name: owners and
/// administrators log in too) names the same signer by its id as the registry gives it (an
/// enquirer's `enquirer_id`, an owner's `owner_id`, an administrator's name); the whole kid,
/// which earlier versions required, is still accepted (`names_signer`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginClaims {
    pub nonce: String,
    pub enquirer_id: String,
}

/// Whether a login's `enquirer_id` claim names the signer of `kid`: its id (`kid` without
/// its `<kind>:` prefix) or, as earlier clients sent it, the kid itself.
fn names_signer(claimed: &str, kid: &str) -> bool {
    claimed == kid
        || kid
            .split_once(':')
            .is_some_and(|(_, id)| !id.is_empty() && claimed == id)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds.
    pub expires_in: u64,
}

impl Registry {
    /// `POST /v1/enquirers`: 201 with the enquirer `pending`.
    pub async fn sign_up(&self, request: SignUpRequest) -> Result<EnquirerView, RegistryError> {
        let result = self.sign_up_inner(request).await;
        if let Err(e) = &result {
            self.audit_rejection("public", "enquirer-sign-up", None, e)
                .await;
        }
        result
    }

    async fn sign_up_inner(&self, request: SignUpRequest) -> Result<EnquirerView, RegistryError> {
        for (field, value) in [
            ("name", &request.name),
            ("organisation", &request.organisation),
            ("contact", &request.contact),
        ] {
            let length = value.chars().count();
            if value.trim().is_empty() || length > MAX_TEXT {
                return Err(RegistryError::Malformed(format!(
                    "{field} must be 1 to {MAX_TEXT} characters"
                )));
            }
        }
        requestable(request.role)?;
        let key = jose::key_from_jwk(&request.public_key)
            .map_err(|e| RegistryError::UnsupportedKey(e.to_string()))?;
        // Only the key's members are kept: whatever else the client sent is not ours to store.
        let public_key = jose::jwk_from_key(&key);
        let enquirer_id = self.random_token();
        let subject = format!("enquirer:{enquirer_id}");
        let sealed = self.keys.seal(&subject, request.contact.as_bytes()).await?;
        let enquirer = EnquirerRecord {
            enquirer_id,
            name: request.name,
            organisation: request.organisation,
            contact_sealed: URL_SAFE_NO_PAD.encode(sealed),
            role: request.role,
            state: EnquirerState::Pending,
            key_thumbprint: jose::jwk_thumbprint(&public_key),
            public_key,
            created_at_ms: self.clock.now_ms(),
            decided_by: None,
            decided_at_ms: None,
            version: 1,
        };
        let audit = self.audit(&subject, "enquirer-sign-up", Some(subject.clone()), Ok(()));
        self.store.create_enquirer(&enquirer, &audit).await?;
        Ok(view(&enquirer))
    }

    /// `POST /v1/admin/enquirers/{id}/decision`, a JWS signed by an administrator.
    pub async fn decide_enquirer(
        &self,
        enquirer_id: &str,
        compact: &str,
    ) -> Result<EnquirerView, RegistryError> {
        let result = self.decide_enquirer_inner(enquirer_id, compact).await;
        if let Err(e) = &result {
            let target = Some(format!("enquirer:{}", bounded(enquirer_id)));
            self.audit_rejection(&unverified_actor(compact), "enquirer-decision", target, e)
                .await;
        }
        result
    }

    async fn decide_enquirer_inner(
        &self,
        enquirer_id: &str,
        compact: &str,
    ) -> Result<EnquirerView, RegistryError> {
        let signed = self
            .verify_signed::<DecisionClaims>(compact, &[Role::Admin], Purpose::EnquirerDecision)
            .await?;
        let admin = signed.actor.audit_name();
        let DecisionClaims { decision, role, .. } = signed.claims;
        if let Some(role) = role {
            requestable(role)?;
        }
        for _ in 0..UPDATE_ATTEMPTS {
            let mut enquirer = self
                .store
                .get_enquirer(enquirer_id)
                .await?
                .ok_or_else(|| RegistryError::EnquirerNotFound(enquirer_id.to_owned()))?;
            enquirer.state = next_state(enquirer.state, decision)?;
            if let Some(role) = role {
                enquirer.role = role;
            }
            enquirer.decided_by = Some(admin.clone());
            enquirer.decided_at_ms = Some(self.clock.now_ms());
            enquirer.version += 1;
            let target = Some(format!("enquirer:{enquirer_id}"));
            let audit = self.audit(&admin, "enquirer-decision", target, Ok(()));
            if self.store.update_enquirer(&enquirer, &audit).await? == Updated::Updated {
                return Ok(view(&enquirer));
            }
        }
        Err(RegistryError::Store(StoreError::Failed(format!(
            "enquirer {enquirer_id} kept changing"
        ))))
    }

    /// `GET /v1/admin/enquirers?state=&cursor=`, for administrators.
    pub async fn list_enquirers(
        &self,
        caller: Option<&Principal>,
        state: EnquirerState,
        cursor: Option<&str>,
    ) -> Result<Page<EnquirerView>, RegistryError> {
        self.require(caller, Op::ListEnquirers, None).await?;
        let page = self
            .store
            .enquirers_in(state, cursor, ENQUIRERS_PAGE)
            .await?;
        Ok(Page {
            items: page.items.iter().map(view).collect(),
            next: page.next,
        })
    }

    /// `POST /v1/sessions`: a login JWS over a `login` nonce yields an access token.
    pub async fn login(&self, compact: &str) -> Result<SessionResponse, RegistryError> {
        let result = self.login_inner(compact).await;
        if let Err(e) = &result {
            self.audit_rejection(&unverified_actor(compact), "login", None, e)
                .await;
        }
        result
    }

    async fn login_inner(&self, compact: &str) -> Result<SessionResponse, RegistryError> {
        let kid = unverified_kid(compact).unwrap_or_default();
        let signed = self
            .verify_signed::<LoginClaims>(
                compact,
                &[Role::Enquirer, Role::Agency, Role::Owner, Role::Admin],
                Purpose::Login,
            )
            .await?;
        let subject = signed.actor.audit_name();
        if !names_signer(&signed.claims.enquirer_id, &kid) {
            return Err(RegistryError::Unauthenticated(
                "enquirer_id must name the signer of the kid (its id, e.g. the enquirer_id of \
                 kid enquirer:<enquirer_id>)"
                    .into(),
            ));
        }
        let now = self.clock.now_ms();
        let ttl = self.config.access_token_ttl_ms;
        let claims = AccessClaims {
            iss: self.config.path.to_string(),
            sub: subject.clone(),
            role: signed.actor.role(),
            iat: now / 1000,
            exp: (now + ttl) / 1000,
            jti: self.random_token(),
        };
        let access_token = self.sign_statement(ACCESS_TOKEN_TYP, &claims).await?;
        let audit = self.audit(&subject, "login", Some(subject.clone()), Ok(()));
        self.store.record_audit(&audit).await?;
        Ok(SessionResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: ttl / 1000,
        })
    }

    /// The principal of a bearer access token, verified with the registry's cached public key
    /// (no KMS call). Any failure is `Unauthenticated`-class and is audited by the caller;
    /// only a failure to read the registry's own key is the registry's (`Keys`).
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal, RegistryError> {
        let refuse = |why: &str| RegistryError::Unauthenticated(why.to_owned());
        let jws = jose::parse(bearer).map_err(|_| refuse("the access token is malformed"))?;
        if jws.header().typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(refuse("the bearer token is not an access token"));
        }
        if jws.header().kid.as_deref() != Some(self.keys.key_id().as_str()) {
            return Err(refuse(
                "the access token is not signed by this registry's key",
            ));
        }
        let key = self.keys.public_key().await?;
        jws.verify(&key)
            .map_err(|_| refuse("the access token's signature does not verify"))?;
        let claims: AccessClaims = jws
            .claims()
            .map_err(|_| refuse("the access token's claims are malformed"))?;
        if claims.iss != self.config.path.to_string() {
            return Err(refuse("the access token was issued by another registry"));
        }
        let now = self.clock.now_ms();
        let expires_at_ms = claims.exp.saturating_mul(1000);
        if expires_at_ms <= now {
            return Err(refuse("the access token has expired"));
        }
        if claims.iat.saturating_mul(1000) > now + SKEW_MS {
            return Err(refuse("the access token is issued in the future"));
        }
        let consistent = match claims.role {
            Role::Enquirer | Role::Agency => claims.sub.starts_with("enquirer:"),
            Role::Owner => claims.sub.starts_with("owner:"),
            Role::Admin => claims.sub.starts_with("admin:"),
            Role::Device | Role::Manufacturer => false,
        };
        if !consistent {
            return Err(refuse("the access token's role does not fit its subject"));
        }
        self.still_standing(&claims.sub, claims.role, now).await?;
        Ok(Principal {
            subject: claims.sub,
            role: claims.role,
            expires_at_ms,
        })
    }

    /// Whether the subject of a valid token still stands: an administrator whose key was
    /// removed from the stack, or an enquirer revoked, rejected or given another role, is
    /// refused from then on, not only at its next login. An administrator is checked against
    /// this instance's configuration (a stack update replaces the instances at once); an
    /// enquirer against its record, read at most every `STANDING_TTL_MS` per instance.
    async fn still_standing(
        &self,
        subject: &str,
        role: Role,
        now: u64,
    ) -> Result<(), RegistryError> {
        let refuse = |why: String| RegistryError::Unauthenticated(why);
        if let Some(name) = subject.strip_prefix("admin:") {
            if !self.config.admin_keys.iter().any(|a| a.name == name) {
                return Err(refuse(format!(
                    "{subject} is no longer an administrator of this registry"
                )));
            }
            return Ok(());
        }
        let Some(id) = subject.strip_prefix("enquirer:") else {
            return Ok(());
        };
        let standing = match self.standing.fresh(id, now) {
            Some(standing) => standing,
            None => {
                let read = self
                    .store
                    .get_enquirer(id)
                    .await?
                    .map(|e| (e.state, e.role));
                self.standing.keep(id, read, now);
                read
            }
        };
        match standing {
            Some((EnquirerState::Approved, held)) if held == role => Ok(()),
            Some((EnquirerState::Approved, _)) => {
                Err(refuse(format!("{subject}'s role changed: log in again")))
            }
            Some((state, _)) => Err(refuse(format!("{subject} is {}", state.as_str()))),
            None => Err(refuse(format!("{subject} is not known here"))),
        }
    }

    /// Admits `caller` to the token route `op` when its role is one the route's declaration
    /// (`ROUTES`) names; otherwise audits the refusal (actor the principal's subject, or
    /// `public` without a token) and returns it. The HTTP layer calls it before any handler
    /// runs (`trustreg-http`'s `access`); the flows call it again, so a flow reached another
    /// way is guarded too.
    pub async fn require<'p>(
        &self,
        caller: Option<&'p Principal>,
        op: Op,
        target: Option<String>,
    ) -> Result<&'p Principal, RegistryError> {
        let allowed: &[Role] = match op.spec().access {
            Access::Token(roles) => roles,
            // Not a token route: no access token admits anyone to it.
            _ => &[],
        };
        let action = token_action(op);
        let refusal = match caller {
            None => RegistryError::Unauthenticated("an access token is required".into()),
            Some(p) if allowed.contains(&p.role) => return Ok(p),
            Some(p) => RegistryError::Forbidden(format!("{} may not do this", p.role.as_str())),
        };
        self.audit_rejection(&actor_of(caller), action, target, &refusal)
            .await;
        Err(refusal)
    }
}

/// The audit action of every read of the log, refused, failed or answered.
pub(crate) const READ_LOG: &str = "read-audit-log";

/// How audit records name a token route's action.
pub(crate) fn token_action(op: Op) -> &'static str {
    match op {
        Op::Search => "search",
        Op::History => "read-history",
        Op::DeviceVulnerabilities => "read-vulnerabilities",
        Op::BulkLookup => "bulk-lookup",
        Op::Subscribe => "subscribe",
        Op::ListSubscriptions => "list-subscriptions",
        Op::Unsubscribe => "unsubscribe",
        Op::StatusList => "status-list",
        Op::Statistics => "read-statistics",
        Op::ListEnquirers => "list-enquirers",
        Op::Audit => "read-audit",
        Op::AuditCheckpoint | Op::AuditTile | Op::AuditInclusion | Op::AuditConsistency => READ_LOG,
        other => other.spec().path,
    }
}

/// What the refusal of a token route names as its target, from the route's `id` path
/// parameter: a subscription as its flow names it, a device by its RegDevID (text that is no
/// RegDevID names nothing: client text is not an audit target). Other routes name none.
pub fn token_target(op: Op, id: &str) -> Option<String> {
    match op {
        Op::Unsubscribe => Some(subscription_target(id)),
        Op::History | Op::DeviceVulnerabilities => crate::service::parse_regdevid(id)
            .ok()
            .map(|regdevid| regdevid.to_string()),
        _ => None,
    }
}

/// How audit records name a subscription: by at most 64 characters of its id (client text).
pub(crate) fn subscription_target(id: &str) -> String {
    format!("subscription:{}", id.chars().take(64).collect::<String>())
}

/// How audit records name a caller: its subject, or `public`.
pub(crate) fn actor_of(caller: Option<&Principal>) -> String {
    caller.map_or_else(|| "public".to_owned(), |p| p.subject.clone())
}

/// The roles an enquirer may hold.
fn requestable(role: Role) -> Result<(), RegistryError> {
    match role {
        Role::Enquirer | Role::Agency => Ok(()),
        other => Err(RegistryError::Malformed(format!(
            "an enquirer's role is enquirer or agency, not {}",
            other.as_str()
        ))),
    }
}

fn next_state(from: EnquirerState, decision: Decision) -> Result<EnquirerState, RegistryError> {
    use EnquirerState::{Approved, Pending, Rejected, Revoked};
    match (decision, from) {
        (Decision::Approve, Pending | Rejected | Revoked) => Ok(Approved),
        (Decision::Reject, Pending) => Ok(Rejected),
        (Decision::Revoke, Approved) => Ok(Revoked),
        (decision, from) => Err(RegistryError::InvalidTransition(format!(
            "cannot {} an enquirer that is {}",
            decision.as_str(),
            from.as_str()
        ))),
    }
}

fn view(enquirer: &EnquirerRecord) -> EnquirerView {
    EnquirerView {
        enquirer_id: enquirer.enquirer_id.clone(),
        kid: format!("enquirer:{}", enquirer.enquirer_id),
        name: enquirer.name.clone(),
        organisation: enquirer.organisation.clone(),
        role: enquirer.role,
        state: enquirer.state,
        created_at: rfc3339(enquirer.created_at_ms),
        decided_by: enquirer.decided_by.clone(),
    }
}

/// Client text bound for an audit record: an oversized value is replaced, not stored.
fn bounded(text: &str) -> &str {
    if text.len() <= MAX_KID {
        text
    } else {
        "unknown"
    }
}

#[cfg(test)]
pub(crate) mod tests;
