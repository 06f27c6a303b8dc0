//! The TPM evidence of a registration (API.md "TPM devices") as the device makes it: the
//! identity a `tpm-activation` challenge takes, the answer to it, and JWS signed in the TPM.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest as _, Sha256};
use trustreg_model::jose::{self, JwsHeader};
use trustreg_model::messages::{
    ChallengeResponse, TpmActivationRequest, TpmCredential, TpmEvidence,
};
use trustreg_model::rot::tpm::certify_qualifying_data;

use super::{TpmDevice, TpmDeviceError};

impl TpmDevice {
    /// The identity for a `tpm-activation` challenge: the EK certificate from NV, then
    /// `ek_intermediates` (the CAs between it and the TPM manufacturer's root, which the
    /// manufacturer publishes; the TPM holds only the EK certificate).
    pub fn activation_request(
        &mut self,
        ek_intermediates: &[Vec<u8>],
    ) -> Result<TpmActivationRequest, TpmDeviceError> {
        let mut ek_certificates = vec![STANDARD.encode(self.ek_certificate()?)];
        ek_certificates.extend(ek_intermediates.iter().map(|der| STANDARD.encode(der)));
        Ok(TpmActivationRequest {
            ek_certificates,
            ek_public: URL_SAFE_NO_PAD.encode(self.ek_public()?),
            ak_public: URL_SAFE_NO_PAD.encode(self.ak_public()?),
        })
    }

    /// The evidence for registration claims over `challenge`'s nonce: the activated secret
    /// and a certification of the registration key over the nonce.
    pub fn evidence(
        &mut self,
        challenge: &ChallengeResponse,
    ) -> Result<TpmEvidence, TpmDeviceError> {
        let Some(TpmCredential {
            credential_blob,
            encrypted_secret,
        }) = &challenge.tpm
        else {
            return Err(TpmDeviceError::Unexpected(
                "the challenge carries no TPM credential".into(),
            ));
        };
        let decode = |value: &str| {
            URL_SAFE_NO_PAD
                .decode(value)
                .map_err(|e| TpmDeviceError::Unexpected(format!("credential: {e}")))
        };
        let secret =
            self.activate_credential(&decode(credential_blob)?, &decode(encrypted_secret)?)?;
        let (attest, signature) = self.certify_key(&certify_qualifying_data(&challenge.nonce))?;
        Ok(TpmEvidence {
            ak_public: URL_SAFE_NO_PAD.encode(self.ak_public()?),
            activation: URL_SAFE_NO_PAD.encode(secret),
            key_public: URL_SAFE_NO_PAD.encode(self.key_public()?),
            certify_info: URL_SAFE_NO_PAD.encode(attest),
            certify_signature: URL_SAFE_NO_PAD.encode(signature),
        })
    }

    /// A compact JWS (ES256) signed by the registration key inside the TPM.
    pub fn sign_jws(
        &mut self,
        header: &JwsHeader,
        payload: &[u8],
    ) -> Result<String, TpmDeviceError> {
        let input = jose::signing_input(header, payload);
        let digest: [u8; 32] = Sha256::digest(input.as_bytes()).into();
        let raw: [u8; 64] = self
            .sign_digest(&digest)?
            .try_into()
            .map_err(|_| TpmDeviceError::Unexpected("signature size".into()))?;
        Ok(jose::assemble(&input, &raw))
    }
}
