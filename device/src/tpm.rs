//! A real TPM 2.0 as the device's root of trust (issue 18), through tss-esapi over libtss2
//! (feature `tpm`). It produces what the registry's `model::rot::tpm` verifies: the EK and its
//! certificate, an AK made under the EK (as Keylime's agent does), the answer to the registry's
//! MakeCredential, a TPM2_Certify of the registration key by the AK, and ES256 signatures by
//! that key.

use std::str::FromStr as _;

use p256::ecdsa::VerifyingKey;
use trustreg_model::rot::tpm::{self as model_tpm, TpmPublic};
use tss_esapi::abstraction::ak::{create_ak_2, load_ak};
use tss_esapi::abstraction::nv;
use tss_esapi::abstraction::{AsymmetricAlgorithmSelection, DefaultKey, KeyCustomization};
use tss_esapi::attributes::{ObjectAttributesBuilder, SessionAttributesBuilder};
use tss_esapi::constants::SessionType;
use tss_esapi::constants::tss::{TPM2_RH_NULL, TPM2_ST_HASHCHECK};
use tss_esapi::handles::{
    AuthHandle, KeyHandle, NvIndexTpmHandle, PersistentTpmHandle, SessionHandle, TpmHandle,
};
use tss_esapi::interface_types::algorithm::{HashingAlgorithm, SignatureSchemeAlgorithm};
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::interface_types::resource_handles::NvAuth;
use tss_esapi::interface_types::session_handles::{AuthSession, PolicySession};
use tss_esapi::structures::{
    Data, Digest, DigestList, EncryptedSecret, HashcheckTicket, IdObject, Public, SignatureScheme,
};
use tss_esapi::traits::Marshall as _;
use tss_esapi::tss2_esys::TPMT_TK_HASHCHECK;
use tss_esapi::{Context, TctiNameConf};

mod evidence;
mod policy;
mod register;

pub mod swtpm;

/// Which EK the device proves itself with, and where the TPM keeps it: the persistent handle
/// of the key (TCG Provisioning Guidance §7.8) and the NV index of its certificate (TCG EK
/// Credential Profile 2.5 §2.2.1.4-5), as swtpm_setup leaves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ek {
    /// High range, template L-2: ECC NIST P-384, SHA-384, AES-256 (what `swtpm_setup --ecc`
    /// makes).
    EccP384,
    /// Low range, template L-1: RSA 2048, SHA-256, AES-128 (what most TPMs in the field carry).
    Rsa2048,
}

impl Ek {
    fn handle(self) -> u32 {
        match self {
            Ek::EccP384 => 0x8101_0016,
            Ek::Rsa2048 => 0x8101_0001,
        }
    }

    fn certificate_index(self) -> u32 {
        match self {
            Ek::EccP384 => 0x01c0_0016,
            Ek::Rsa2048 => 0x01c0_0002,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TpmDeviceError {
    #[error("TPM: {0}")]
    Tss(#[from] tss_esapi::Error),
    #[error("TPM answered something unexpected: {0}")]
    Unexpected(String),
}

/// A device's TPM, with the AK and the registration key loaded.
pub struct TpmDevice {
    context: Context,
    ek: KeyHandle,
    ak: KeyHandle,
    ak_public: Public,
    key: KeyHandle,
    key_public: Public,
    ek_kind: Ek,
}

impl std::fmt::Debug for TpmDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TpmDevice").finish_non_exhaustive()
    }
}

/// The registration key: an unrestricted ECDSA P-256 signing key that cannot leave the TPM
/// (fixedTPM, fixedParent, sensitiveDataOrigin, as the registry requires of it).
struct RegistrationKey;

impl KeyCustomization for RegistrationKey {
    fn attributes(&self, builder: ObjectAttributesBuilder) -> ObjectAttributesBuilder {
        builder.with_restricted(false)
    }
}

impl TpmDevice {
    /// Opens the TPM at `tcti` (e.g. `swtpm:host=127.0.0.1,port=2321`) with its ECC P-384 EK.
    pub fn open(tcti: &str) -> Result<Self, TpmDeviceError> {
        Self::open_with(tcti, Ek::EccP384)
    }

    /// Opens the TPM at `tcti`, takes the persistent EK `ek_kind`, and makes a new AK and
    /// registration key under it.
    pub fn open_with(tcti: &str, ek_kind: Ek) -> Result<Self, TpmDeviceError> {
        let tcti = TctiNameConf::from_str(tcti)?;
        let mut context = Context::new(tcti)?;
        let ek_handle = PersistentTpmHandle::new(ek_kind.handle())?;
        let ek: KeyHandle = context
            .tr_from_tpm_public(TpmHandle::Persistent(ek_handle))?
            .into();
        let p256 = AsymmetricAlgorithmSelection::Ecc(EccCurve::NistP256);
        let made = create_ak_2(
            &mut context,
            ek,
            HashingAlgorithm::Sha256,
            p256,
            SignatureSchemeAlgorithm::EcDsa,
            None,
            DefaultKey,
        )?;
        let ak_public = made.out_public.clone();
        let ak = load_ak(&mut context, ek, None, made.out_private, made.out_public)?;
        let made = create_ak_2(
            &mut context,
            ek,
            HashingAlgorithm::Sha256,
            p256,
            SignatureSchemeAlgorithm::EcDsa,
            None,
            RegistrationKey,
        )?;
        let key_public = made.out_public.clone();
        let key = load_ak(&mut context, ek, None, made.out_private, made.out_public)?;
        Ok(TpmDevice {
            context,
            ek,
            ak,
            ak_public,
            key,
            key_public,
            ek_kind,
        })
    }

    /// The EK certificate the manufacturer stored in NV (read with owner authorization).
    pub fn ek_certificate(&mut self) -> Result<Vec<u8>, TpmDeviceError> {
        let index = NvIndexTpmHandle::new(self.ek_kind.certificate_index())?;
        // Owner authorization with the empty password, as manufacturers leave EK certificates.
        Ok(self
            .context
            .execute_with_nullauth_session(|ctx| nv::read_full(ctx, NvAuth::Owner, index))?)
    }

    /// `TPM2B_PUBLIC` of the EK.
    pub fn ek_public(&mut self) -> Result<Vec<u8>, TpmDeviceError> {
        let (public, _, _) = self.context.read_public(self.ek)?;
        tpm2b(&public)
    }

    /// `TPM2B_PUBLIC` of the AK.
    pub fn ak_public(&self) -> Result<Vec<u8>, TpmDeviceError> {
        tpm2b(&self.ak_public)
    }

    /// `TPM2B_PUBLIC` of the registration key.
    pub fn key_public(&self) -> Result<Vec<u8>, TpmDeviceError> {
        tpm2b(&self.key_public)
    }

    /// The registration key as the registry sees it (and a certificate would bind it).
    pub fn verifying_key(&self) -> Result<VerifyingKey, TpmDeviceError> {
        let public = TpmPublic::from_tpm2b(&self.key_public()?)
            .map_err(|e| TpmDeviceError::Unexpected(e.to_string()))?;
        let point = public
            .sec1_point()
            .map(|(_, point)| point)
            .ok_or_else(|| TpmDeviceError::Unexpected("registration key is not ECC".into()))?;
        VerifyingKey::from_sec1_bytes(&point)
            .map_err(|_| TpmDeviceError::Unexpected("registration key is not on P-256".into()))
    }

    /// TPM2_ActivateCredential (Part 3 §12.5): the secret the registry wrapped for this EK and
    /// this AK's Name. `credential_blob` and `encrypted_secret` are the marshaled TPM2Bs.
    pub fn activate_credential(
        &mut self,
        credential_blob: &[u8],
        encrypted_secret: &[u8],
    ) -> Result<Vec<u8>, TpmDeviceError> {
        let blob = IdObject::try_from(content_of(credential_blob)?.to_vec())?;
        let secret = EncryptedSecret::try_from(content_of(encrypted_secret)?.to_vec())?;
        let (ak, ek) = (self.ak, self.ek);
        let session = self.ek_policy_session()?;
        let digest = self.context.execute_with_temporary_object(
            SessionHandle::from(session).into(),
            |ctx, _| {
                ctx.execute_with_sessions(
                    (Some(AuthSession::Password), Some(session), None),
                    |ctx| ctx.activate_credential(ak, ek, blob, secret),
                )
            },
        )?;
        Ok(digest.value().to_vec())
    }

    /// TPM2_Certify (Part 3 §18.2) of the registration key by the AK over `qualifying_data`:
    /// the marshaled `TPMS_ATTEST` and `TPMT_SIGNATURE`.
    pub fn certify_key(
        &mut self,
        qualifying_data: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), TpmDeviceError> {
        let (key, ak) = (self.key, self.ak);
        let data = Data::try_from(qualifying_data.to_vec())?;
        let (attest, signature) = self.context.execute_with_sessions(
            (
                Some(AuthSession::Password),
                Some(AuthSession::Password),
                None,
            ),
            |ctx| ctx.certify(key.into(), ak, data, SignatureScheme::Null),
        )?;
        Ok((attest.marshall()?, signature.marshall()?))
    }

    /// ES256 by the registration key over a SHA-256 `digest`: the JWS form (r || s).
    pub fn sign_digest(&mut self, digest: &[u8; 32]) -> Result<Vec<u8>, TpmDeviceError> {
        let key = self.key;
        let digest = Digest::try_from(digest.to_vec())?;
        // No hashcheck ticket: the key is unrestricted, so the TPM needs no proof that it
        // hashed the message itself (Part 3 §20.2).
        let validation = HashcheckTicket::try_from(TPMT_TK_HASHCHECK {
            tag: TPM2_ST_HASHCHECK,
            hierarchy: TPM2_RH_NULL,
            digest: Default::default(),
        })?;
        let signature = self
            .context
            .execute_with_session(Some(AuthSession::Password), |ctx| {
                ctx.sign(key, digest, SignatureScheme::Null, validation)
            })?;
        model_tpm::ecdsa_r_s(&signature.marshall()?, model_tpm::Curve::P256)
            .map_err(|e| TpmDeviceError::Unexpected(e.to_string()))
    }

    /// A policy session satisfying the EK's authPolicy (TCG EK Credential Profile 2.5 §B.6:
    /// PolicySecret(TPM_RH_ENDORSEMENT), and for the high-range templates a PolicyOR of policies
    /// A and C), in the EK's name algorithm.
    fn ek_policy_session(&mut self) -> Result<AuthSession, TpmDeviceError> {
        let (public, _, _) = self.context.read_public(self.ek)?;
        let hash = public.name_hashing_algorithm();
        let symmetric = public
            .symmetric_algorithm()
            .ok_or_else(|| TpmDeviceError::Unexpected("EK without a symmetric algorithm".into()))?;
        let session = self
            .context
            .start_auth_session(
                None,
                None,
                None,
                SessionType::Policy,
                symmetric.into(),
                hash,
            )?
            .ok_or_else(|| TpmDeviceError::Unexpected("no policy session".into()))?;
        let (attributes, mask) = SessionAttributesBuilder::new()
            .with_decrypt(true)
            .with_encrypt(true)
            .build();
        self.context
            .tr_sess_set_attributes(session, attributes, mask)?;
        let policy_session = PolicySession::try_from(session)?;
        self.context.execute_with_nullauth_session(|ctx| {
            ctx.policy_secret(
                policy_session,
                AuthHandle::Endorsement,
                Default::default(),
                Default::default(),
                Default::default(),
                None,
            )
        })?;
        if let Some(digests) = policy::ek_policy_or(hash)? {
            let mut list = DigestList::new();
            for digest in digests {
                list.add(Digest::try_from(digest.to_vec())?)?;
            }
            self.context.policy_or(policy_session, list)?;
        }
        Ok(session)
    }
}

fn tpm2b(public: &Public) -> Result<Vec<u8>, TpmDeviceError> {
    let tpmt = public.marshall()?;
    let size = u16::try_from(tpmt.len())
        .map_err(|_| TpmDeviceError::Unexpected("public area too long".into()))?;
    let mut out = size.to_be_bytes().to_vec();
    out.extend(tpmt);
    Ok(out)
}

/// The content of a marshaled TPM2B, checked against its size.
fn content_of(tpm2b: &[u8]) -> Result<&[u8], TpmDeviceError> {
    match tpm2b {
        [hi, lo, rest @ ..] if usize::from(u16::from_be_bytes([*hi, *lo])) == rest.len() => {
            Ok(rest)
        }
        _ => Err(TpmDeviceError::Unexpected("not a TPM2B".into())),
    }
}

#[cfg(test)]
mod tests;
