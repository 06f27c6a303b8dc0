//! Registration of a TPM device (API.md "TPM devices"): a `tpm-activation` challenge, the
//! evidence over its nonce, the registration JWS signed in the TPM.

use trustreg_model::identifier::{Identifier, RegDevId};
use trustreg_model::jose::JwsHeader;
use trustreg_model::messages::{
    ChallengeRequest, DeviceInfo, IdentifierClaim, Purpose, RegistrationClaims,
    RegistrationResponse,
};
use trustreg_model::routes::Op;

use super::TpmDevice;
use crate::client::{ClientError, REGISTRATION_TYP, RegistryClient, bound};

impl RegistryClient {
    /// Registers the TPM's registration key, whose certificate chain (`x5c`, leaf first) the
    /// device manufacturer issued for it; `ek_intermediates` as `activation_request` takes
    /// them. `device.rot.type` is set to `tpm`. Answers the verified RegDevID with the
    /// registry's answer; storing them is the caller's (the TPM holds keys, not files).
    pub async fn register_tpm(
        &self,
        tpm: &mut TpmDevice,
        x5c: &[Vec<u8>],
        ek_intermediates: &[Vec<u8>],
        identifier: &Identifier,
        mut device: DeviceInfo,
        trust_domains: Vec<String>,
    ) -> Result<(RegDevId, RegistrationResponse), ClientError> {
        if x5c.is_empty() {
            return Err(ClientError::NoChain);
        }
        let challenge = self
            .challenge_with(&ChallengeRequest {
                purpose: Purpose::TpmActivation,
                tpm: Some(tpm.activation_request(ek_intermediates)?),
            })
            .await?;
        let evidence = tpm.evidence(&challenge)?;
        device.rot.kind = trustreg_model::rot::tpm::TPM_ROT_TYPE.to_owned();
        let claims = RegistrationClaims {
            nonce: challenge.nonce,
            identifier: IdentifierClaim {
                scheme: identifier.scheme(),
                value: identifier.value().to_owned(),
            },
            device,
            owner: None,
            trust_domains,
            tpm: Some(evidence),
        };
        let header = JwsHeader::es256()
            .with_typ(REGISTRATION_TYP)
            .with_x5c_der(x5c);
        let jws = tpm.sign_jws(&header, &bound(&claims, "POST", Op::Register.path())?)?;
        let response = self.post_registration(jws).await?;
        let regdevid = self
            .verified_regdevid(&tpm.verifying_key()?, identifier, &response)
            .await?;
        Ok((regdevid, response))
    }
}
