//! Devices whose root of trust is a TPM 2.0 (issue 18): the `tpm-activation` challenge, where
//! the registry checks the EK certificate and makes a credential for the EK and the AK
//! (TPM 2.0 Part 1 §24), and the check at registration that the device activated it and that
//! its AK certified the registration key as fixed to the TPM (`model::rot::tpm`).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest as _, Sha256};

use crate::error::RegistryError;
use crate::messages::{
    ChallengeResponse, Purpose, RegistrationClaims, TpmActivationRequest, TpmCredential,
};
use crate::records::{Nonce, TpmActivation};
use crate::rot::VerifiedDevice;
use crate::rot::tpm::{self, TpmPublic, attributes};
use crate::service::{Registry, hex, rfc3339};

/// The credential's secret: a SHA-256 digest's size, what every EK name algorithm takes.
const SECRET_LEN: usize = 32;

impl Registry {
    /// `POST /v1/challenges` with purpose `tpm-activation`: verifies the EK certificate to an
    /// accepted root published for `tpm`, and answers a nonce with a credential only the TPM
    /// holding that EK can open, and only for that AK.
    pub async fn tpm_challenge(
        &self,
        request: &TpmActivationRequest,
    ) -> Result<ChallengeResponse, RegistryError> {
        let chain = request
            .ek_certificates
            .iter()
            .map(|c| STANDARD.decode(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RegistryError::Malformed(format!("tpm.ek_certificates: {e}")))?;
        let ek = TpmPublic::from_tpm2b(&decode("tpm.ek_public", &request.ek_public)?)?;
        let ak = TpmPublic::from_tpm2b(&decode("tpm.ak_public", &request.ak_public)?)?;
        // Refused now rather than after the device activated a credential for nothing.
        if !ak.has(attributes::RESTRICTED | attributes::SIGN | attributes::FIXED_TPM) {
            return Err(tpm::TpmError::NotAnAk.into());
        }
        let roots = self
            .store
            .roots_of_trust()
            .await?
            .into_iter()
            .filter_map(|r| r.accepted())
            .collect::<Vec<_>>();
        let now = self.clock.now_ms();
        let ek_root_id = tpm::verify_ek_certificate(&chain, &ek, &roots, now / 1000)?;
        let mut secret = [0u8; SECRET_LEN];
        self.rng.fill(&mut secret);
        let made = tpm::make_credential(&ek, &ak.name(), &secret, &mut PortRng(self))?;
        let nonce = Nonce {
            value: self.random_token(),
            purpose: Purpose::TpmActivation,
            expires_at_ms: now + self.config.nonce_ttl_ms,
            tpm: Some(TpmActivation {
                ak_name: hex(&ak.name()),
                secret_sha256: hex(&Sha256::digest(secret)),
                ek_root_id,
            }),
        };
        self.store.put_nonce(&nonce).await?;
        Ok(ChallengeResponse {
            nonce: nonce.value,
            expires_at: rfc3339(nonce.expires_at_ms),
            tpm: Some(TpmCredential {
                credential_blob: URL_SAFE_NO_PAD.encode(&made.credential_blob),
                encrypted_secret: URL_SAFE_NO_PAD.encode(&made.encrypted_secret),
            }),
        })
    }

    /// A `tpm` registration's evidence, over its `tpm-activation` nonce (spent here): the AK
    /// the credential was made for, the secret it held, and a certification by that AK, over
    /// this nonce, of a fixed TPM key that is the key of the device's certificate. Answers the
    /// root the EK certificate chained to, which the device then depends on too (7 ii).
    pub(crate) async fn verify_tpm_evidence(
        &self,
        claims: &RegistrationClaims,
        verified: &VerifiedDevice,
    ) -> Result<String, RegistryError> {
        let evidence = claims.tpm.as_ref().ok_or_else(|| {
            RegistryError::TpmEvidenceInvalid("a tpm root of trust needs its `tpm` evidence".into())
        })?;
        let nonce = self
            .take_nonce_for(&claims.nonce, Purpose::TpmActivation)
            .await?;
        let made_for = nonce.tpm.ok_or(RegistryError::NonceInvalid)?;
        let ak = TpmPublic::from_tpm2b(&decode("tpm.ak_public", &evidence.ak_public)?)?;
        if hex(&ak.name()) != made_for.ak_name {
            return Err(RegistryError::TpmEvidenceInvalid(
                "the AK is not the one the challenge's credential was made for".into(),
            ));
        }
        let secret = decode("tpm.activation", &evidence.activation)?;
        if hex(&Sha256::digest(&secret)) != made_for.secret_sha256 {
            return Err(RegistryError::TpmEvidenceInvalid(
                "the credential was not activated".into(),
            ));
        }
        let key = TpmPublic::from_tpm2b(&decode("tpm.key_public", &evidence.key_public)?)?;
        tpm::verify_certify(
            &ak,
            &decode("tpm.certify_info", &evidence.certify_info)?,
            &decode("tpm.certify_signature", &evidence.certify_signature)?,
            &tpm::certify_qualifying_data(&claims.nonce),
            &key,
        )?;
        let leaf_point = verified.public_key.to_encoded_point(false);
        if key.sec1_point().map(|(_, point)| point).as_deref() != Some(leaf_point.as_bytes()) {
            return Err(RegistryError::TpmEvidenceInvalid(
                "the certificate's key is not the TPM key the AK certified".into(),
            ));
        }
        Ok(made_for.ek_root_id)
    }
}

fn decode(field: &str, value: &str) -> Result<Vec<u8>, RegistryError> {
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|e| RegistryError::Malformed(format!("{field}: {e}")))
}

/// The registry's RNG port as the RNG make_credential takes (its ephemeral ECDH key, its OAEP
/// padding): the port's contract is a cryptographic RNG (the system's, in the Lambdas).
struct PortRng<'a>(&'a Registry);

impl rand_core::RngCore for PortRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.0.rng.fill(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.0.rng.fill(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.rng.fill(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.rng.fill(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for PortRng<'_> {}

#[cfg(test)]
mod tests;
