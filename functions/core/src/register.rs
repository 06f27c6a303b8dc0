//! Registration and acknowledgement (Y.3059 7 iv a, b; 9.2 i a-c, e; 7 iii).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use crate::actors::{Actor, Role};
use crate::config::RegistryKind;
use crate::error::RegistryError;
use crate::free_json;
use crate::identifier::{Identifier, RegDevId, RegistryPath};
use crate::jose::{self, Jws};
use crate::messages::{
    AcknowledgementClaims, AcknowledgementResponse, DeviceInfo, Purpose, RegistrationClaims,
    RegistrationResponse,
};
use crate::policies::{check_rot_type, evaluate_all, next_evaluation_all, policies_for};
use crate::ports::Created;
use crate::records::{DeviceRecord, DomainPolicy, Transition};
use crate::rot::{self, VerifiedDevice};
use crate::service::{Registry, parse_regdevid};
use crate::statements::CREDENTIAL_TYP;
use crate::status::Facts;

const MAX_TEXT: usize = 128;
const MAX_LIST: usize = 32;
/// The device's whole description as JSON: far more than any real one needs, and small enough
/// that a lookup, a history or a page of search results stays small (every answer repeats it).
pub const MAX_DEVICE_INFO_BYTES: usize = 4096;
/// `device.power`, extra members included.
const MAX_POWER_BYTES: usize = 1024;

/// What a registration ended as: a new device, or the same device registering again.
#[derive(Debug)]
pub struct Registered {
    pub response: RegistrationResponse,
    pub created: bool,
}

/// Who a registration request speaks for, as far as it is known yet: for its audit record.
struct Who {
    actor: String,
    target: Option<String>,
}

impl Who {
    /// Rejections from here on are findable under the RegDevID this identifier would get.
    fn name(&mut self, path: &RegistryPath, identifier: &Identifier) {
        self.actor = format!("device:{identifier}");
        self.target = Some(RegDevId::new(path.clone(), identifier.clone()).to_string());
    }
}

/// The registration credential's claims, signed by the registry.
#[derive(Serialize)]
pub(crate) struct Credential<'a> {
    pub(crate) iss: String,
    pub(crate) sub: String,
    pub(crate) iat: u64,
    pub(crate) cnf: Cnf<'a>,
    pub(crate) rot: &'a str,
    pub(crate) trust_domains: &'a [String],
}

#[derive(Serialize)]
pub(crate) struct Cnf<'a> {
    pub(crate) jwk: &'a serde_json::Value,
}

impl Registry {
    /// `POST /v1/registrations`: the body is a compact JWS whose `x5c` chain leads to an
    /// accepted manufacturer root and whose leaf binds the claimed identifier.
    pub async fn register(&self, compact: &str) -> Result<Registered, RegistryError> {
        let mut who = Who {
            actor: "device:unknown".to_owned(),
            target: None,
        };
        let result = self.register_inner(compact, &mut who).await;
        match &result {
            Ok(done) => {
                // A creation was audited in its own transaction; a repeat is audited here, as
                // a repeat, so the trail holds each device's creation once however often a
                // client retried it.
                if !done.created {
                    let record =
                        self.audit(&who.actor, "register-again", who.target.clone(), Ok(()));
                    self.store.record_audit(&record).await?;
                }
            }
            // Audited in the transaction that recorded the possible clone.
            Err(RegistryError::IdentifierConflict(_)) => {}
            Err(e) => {
                self.audit_rejection(&who.actor, "register", who.target.clone(), e)
                    .await
            }
        }
        result
    }

    async fn register_inner(
        &self,
        compact: &str,
        who: &mut Who,
    ) -> Result<Registered, RegistryError> {
        if self.config.kind != RegistryKind::Primary {
            // Y.3059 6.1 b: devices register only at primary registries.
            return Err(RegistryError::NotPrimary(self.config.kind.as_str().into()));
        }
        let jws = jose::parse(compact).map_err(RegistryError::MalformedJws)?;
        let verified = self.verify_root_of_trust(&jws).await?;
        if let Some(certified) = verified.identifiers.first() {
            who.name(&self.config.path, certified);
        }
        jws.verify(&verified.public_key)
            .map_err(|_| RegistryError::BadSignature)?;
        let claims: RegistrationClaims = jws
            .claims()
            .map_err(|e| RegistryError::Malformed(e.to_string()))?;
        let identifier = Identifier::parse(claims.identifier.scheme, &claims.identifier.value)
            .map_err(|source| RegistryError::InvalidIdentifier {
                field: "identifier.value",
                source,
            })?;
        who.name(&self.config.path, &identifier);
        certified(&verified, &identifier)?;
        validate_device_info(&claims.device)?;
        published_for(&verified, &claims.device.rot.kind)?;
        let stored = self.store.domain_policies().await?;
        let trust_domains = self.trust_domains_of(&claims.trust_domains, &stored)?;
        let policies = policies_for(&stored, &self.config.policy, &trust_domains);
        check_rot_type(&trust_domains, &policies, &claims.device.rot.kind)?;
        let ek_root = if claims.device.rot.kind == rot::tpm::TPM_ROT_TYPE {
            // Over its tpm-activation nonce, which it spends.
            Some(self.verify_tpm_evidence(&claims, &verified).await?)
        } else {
            self.spend_nonce(&claims.nonce, Purpose::Register).await?;
            None
        };

        let regdevid = RegDevId::new(self.config.path.clone(), identifier);
        let actor = who.actor.as_str();
        let public_key = jose::jwk_from_key(&verified.public_key);
        let thumbprint = jose::jwk_thumbprint(&public_key);
        // A read first spares a KMS signature on repeats; uniqueness itself rests on the
        // conditional write below.
        if let Some(existing) = self.store.get_device(&regdevid).await? {
            let last = chain_last_ms(&verified);
            return self
                .registered_again(existing, &thumbprint, Some(last), actor)
                .await;
        }

        let now = self.clock.now_ms();
        let facts = Facts {
            ek_root,
            ..registration_facts(&verified, &claims.device.rot.kind, now)
        };
        let evaluation = evaluate_all(&policies, &facts, now);
        let next_evaluation_at_ms = next_evaluation_all(&policies, &facts, now);
        // A new owner starts unverified, as the facts above already say.
        let owner_id = match &claims.owner {
            Some(owner) => Some(
                self.owner_at_registration(&regdevid, owner, actor)
                    .await?
                    .owner_id,
            ),
            None => None,
        };
        // Signed by the session key (no KMS request per device), verifiable offline as API.md
        // says of statements.
        let credential = self
            .delegated(
                CREDENTIAL_TYP,
                &Credential {
                    iss: self.config.path.to_string(),
                    sub: regdevid.to_string(),
                    iat: now / 1000,
                    cnf: Cnf { jwk: &public_key },
                    rot: &verified.root_id,
                    trust_domains: &trust_domains,
                },
                now,
            )
            .await?;
        let device = DeviceRecord {
            regdevid: regdevid.clone(),
            public_key,
            key_thumbprint: thumbprint.clone(),
            root_id: verified.root_id.clone(),
            leaf_fingerprint: verified.leaf_fingerprint.clone(),
            info: claims.device,
            trust_domains,
            owner_id,
            facts,
            status: evaluation.status,
            reasons: evaluation.reasons.clone(),
            status_since_ms: now,
            next_evaluation_at_ms,
            registered_at_ms: now,
            acknowledged_at_ms: None,
            credential,
            transfer_offer: None,
            version: 1,
        };
        let transition = Transition {
            regdevid: regdevid.clone(),
            at_ms: now,
            from: None,
            to: evaluation.status,
            reasons: evaluation.reasons,
            actor: actor.to_owned(),
            cause: "register".into(),
        };
        let audit = self.audit(actor, "register", Some(regdevid.to_string()), Ok(()));
        match self
            .store
            .create_device(&device, &transition, &audit)
            .await?
        {
            Created::Created => Ok(Registered {
                response: RegistrationResponse {
                    regdevid: regdevid.to_string(),
                    status: device.status,
                    credential: device.credential,
                },
                created: true,
            }),
            Created::IdentifierTaken(holder) => {
                let existing = self
                    .store
                    .get_device(&holder)
                    .await?
                    .ok_or_else(|| RegistryError::DeviceNotFound(holder.to_string()))?;
                self.registered_again(existing, &thumbprint, Some(chain_last_ms(&verified)), actor)
                    .await
            }
        }
    }

    /// Same key: the same RegDevID again. Another key: a possible clone, recorded on the device.
    pub(crate) async fn registered_again(
        &self,
        existing: DeviceRecord,
        thumbprint: &str,
        chain_last_ms: Option<u64>,
        actor: &str,
    ) -> Result<Registered, RegistryError> {
        // Its RegDevID is never issued again (6.3 e), to the same key or another; and it is no
        // clone of a device whose registration ended, so nothing is recorded on it.
        crate::deregistration::refuse_if_deregistered(&existing)?;
        if existing.key_thumbprint == thumbprint {
            // The same key with a chain valid for longer: its manufacturer renewed the
            // certificate, and the device's expiry moves with it (a `certificate_expired`
            // device is trusted again).
            let renewed = chain_last_ms.filter(|new| {
                existing
                    .facts
                    .certificate_not_after_ms
                    .is_none_or(|old| *new > old)
            });
            let device = match renewed {
                Some(last) => {
                    self.change_registered_device(
                        &existing.regdevid,
                        actor,
                        "renew-certificate",
                        Ok(()),
                        |facts| {
                            let old = facts.certificate_not_after_ms.unwrap_or(0);
                            facts.certificate_not_after_ms = Some(old.max(last));
                        },
                    )
                    .await?
                }
                None => existing,
            };
            return Ok(Registered {
                response: RegistrationResponse {
                    regdevid: device.regdevid.to_string(),
                    status: device.status,
                    credential: device.credential,
                },
                created: false,
            });
        }
        let conflict = RegistryError::IdentifierConflict(existing.regdevid.to_string());
        self.change_device(
            &existing.regdevid,
            actor,
            "register",
            Err(&conflict),
            |facts| {
                facts.clone_reports = facts.clone_reports.saturating_add(1);
            },
        )
        .await?;
        Err(conflict)
    }

    /// `POST /v1/devices/{regdevid}/acknowledgement`: the device confirms it stored its
    /// RegDevID, signing with the key it registered (`kid` = RegDevID).
    pub async fn acknowledge(
        &self,
        regdevid: &str,
        compact: &str,
    ) -> Result<AcknowledgementResponse, RegistryError> {
        let actor = format!("device:{regdevid}");
        let result = self.acknowledge_inner(regdevid, compact, &actor).await;
        if let Err(e) = &result {
            let target = regdevid.parse::<RegDevId>().ok().map(|r| r.to_string());
            let actor = crate::actors::unverified_actor(compact);
            self.audit_rejection(&actor, "acknowledge", target, e).await;
        }
        result
    }

    async fn acknowledge_inner(
        &self,
        regdevid_text: &str,
        compact: &str,
        actor: &str,
    ) -> Result<AcknowledgementResponse, RegistryError> {
        let regdevid = parse_regdevid(regdevid_text)?;
        let signed = self
            .verify_signed::<AcknowledgementClaims>(compact, &[Role::Device], Purpose::Acknowledge)
            .await?;
        // Only the device itself acknowledges what it stored (7 iv b).
        if !matches!(&signed.actor, Actor::Device(d) if d.regdevid == regdevid) {
            return Err(RegistryError::Forbidden(
                "a device acknowledges its own RegDevID only".into(),
            ));
        }
        if signed.claims.regdevid != regdevid_text {
            return Err(RegistryError::Malformed(
                "the acknowledged RegDevID differs from the path".into(),
            ));
        }
        let device = self
            .change_registered_device(&regdevid, actor, "acknowledge", Ok(()), |facts| {
                facts.acknowledged = true;
            })
            .await?;
        Ok(AcknowledgementResponse {
            regdevid: device.regdevid.to_string(),
            status: device.status,
        })
    }

    async fn verify_root_of_trust(&self, jws: &Jws) -> Result<VerifiedDevice, RegistryError> {
        let x5c = jws
            .header()
            .x5c
            .as_ref()
            .ok_or_else(|| RegistryError::MalformedChain("the x5c header is missing".into()))?;
        let chain = x5c
            .iter()
            .map(|c| STANDARD.decode(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RegistryError::MalformedChain(format!("x5c is not base64: {e}")))?;
        let roots = self
            .store
            .roots_of_trust()
            .await?
            .into_iter()
            .filter_map(|r| r.accepted())
            .collect::<Vec<_>>();
        Ok(rot::verify_device_chain(
            &chain,
            &roots,
            self.clock.now_ms() / 1000,
        )?)
    }

    /// The domains a device asks for, each hosted (deployed, or added at run time and so in
    /// `stored`); none asked is the first deployed one.
    pub(crate) fn trust_domains_of(
        &self,
        asked: &[String],
        stored: &[DomainPolicy],
    ) -> Result<Vec<String>, RegistryError> {
        if asked.is_empty() {
            return Ok(self.config.trust_domains.iter().take(1).cloned().collect());
        }
        if asked.len() > MAX_LIST {
            return Err(RegistryError::Malformed("too many trust domains".into()));
        }
        let mut domains = Vec::with_capacity(asked.len());
        for d in asked {
            if !self.config.trust_domains.contains(d) && !stored.iter().any(|p| &p.name == d) {
                return Err(RegistryError::Malformed(format!(
                    "trust domain {d:?} is not hosted by this registry"
                )));
            }
            if !domains.contains(d) {
                domains.push(d.clone());
            }
        }
        Ok(domains)
    }
}

/// Whether the verified leaf certifies `identifier` within its root's scope: not at all is a
/// mismatch, outside the scope its root may certify is out of scope.
pub(crate) fn certified(
    verified: &crate::rot::VerifiedDevice,
    identifier: &Identifier,
) -> Result<(), RegistryError> {
    let claimed = || format!("{}:{}", identifier.scheme().as_str(), identifier.value());
    if verified.identifiers.contains(identifier) {
        Ok(())
    } else if verified.out_of_scope.contains(identifier) {
        Err(RegistryError::IdentifierOutOfScope { claimed: claimed() })
    } else {
        Err(RegistryError::IdentifierMismatch { claimed: claimed() })
    }
}

/// Y.3059 7 ii: a device claims only a root-of-trust type its manufacturer root is published
/// for (the accepted root's `rot_types`, in `GET /v1/registry`): the root vouches for devices
/// of those types, and a claim of any other is not backed by it.
pub(crate) fn published_for(verified: &VerifiedDevice, rot: &str) -> Result<(), RegistryError> {
    if verified.rot_types.iter().any(|t| t == rot) {
        Ok(())
    } else {
        Err(RegistryError::RotTypeNotPublished {
            root: verified.root_id.clone(),
            rot: rot.to_owned(),
        })
    }
}

/// What a registration proves of a device (single or bulk): its root of trust, of the claimed
/// type, until its chain expires; its initial information counts as its first report (9.3 iv).
pub(crate) fn registration_facts(verified: &VerifiedDevice, rot: &str, now_ms: u64) -> Facts {
    Facts {
        rot_verified: true,
        rot_type: Some(rot.to_owned()),
        intermediates: verified.intermediates.clone(),
        certificate_not_after_ms: Some(chain_last_ms(verified)),
        last_report_at_ms: Some(now_ms),
        ..Facts::default()
    }
}

/// The last millisecond of the chain's last valid second (webpki compares whole seconds).
fn chain_last_ms(verified: &VerifiedDevice) -> u64 {
    verified
        .not_after_unix
        .saturating_mul(1000)
        .saturating_add(999)
}

pub(crate) fn validate_device_info(info: &DeviceInfo) -> Result<(), RegistryError> {
    let texts = [
        ("device.make", &info.make),
        ("device.model", &info.model),
        ("device.firmware_version", &info.firmware_version),
        ("device.software_version", &info.software_version),
        ("device.rot.type", &info.rot.kind),
    ];
    for (field, value) in texts {
        if value.trim().is_empty() || value.len() > MAX_TEXT {
            return Err(RegistryError::Malformed(format!(
                "{field} must be 1 to {MAX_TEXT} characters"
            )));
        }
    }
    for (field, list) in [
        ("device.communication", &info.communication),
        ("device.protocols", &info.protocols),
    ] {
        if list.len() > MAX_LIST || list.iter().any(|v| v.is_empty() || v.len() > MAX_TEXT) {
            return Err(RegistryError::Malformed(format!(
                "{field} must hold at most {MAX_LIST} non-empty values"
            )));
        }
    }
    if info.power.source.len() > MAX_TEXT {
        return Err(RegistryError::Malformed(format!(
            "device.power.source must be at most {MAX_TEXT} characters"
        )));
    }
    let power = serde_json::to_value(&info.power).unwrap_or_default();
    free_json::check("device.power", &power, MAX_POWER_BYTES)
        .map_err(|e| RegistryError::Malformed(e.to_string()))?;
    let whole = serde_json::to_value(info).unwrap_or_default();
    if free_json::len(&whole) > MAX_DEVICE_INFO_BYTES {
        return Err(RegistryError::Malformed(format!(
            "device must be at most {MAX_DEVICE_INFO_BYTES} bytes of JSON"
        )));
    }
    Ok(())
}
