//! TPM2_MakeCredential done by the registry in software (TPM 2.0 Part 1 §24 Credential
//! Protection; Part 3 §12.6): a secret only the TPM holding the EK can recover, and only into an
//! object with the given Name, by TPM2_ActivateCredential. It proves the AK lives in the same
//! TPM as the EK the manufacturer certified.

use aes::cipher::{AsyncStreamCipher as _, KeyIvInit as _};
use rand_core::CryptoRngCore;
use rsa::{BigUint, Oaep, RsaPublicKey};

use super::TpmError;
use super::hash::HashAlg;
use super::public::{Curve, PublicKey, TpmPublic, attributes};
use super::wire;

/// What TPM2_ActivateCredential takes: `credentialBlob` (TPM2B_ID_OBJECT) and `secret`
/// (TPM2B_ENCRYPTED_SECRET), both marshaled with their size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MadeCredential {
    pub credential_blob: Vec<u8>,
    pub encrypted_secret: Vec<u8>,
}

/// Wraps `secret` (at most the EK's name digest size) for the EK `ek`, bound to `ak_name`.
pub fn make_credential(
    ek: &TpmPublic,
    ak_name: &[u8],
    secret: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<MadeCredential, TpmError> {
    // An EK is a restricted decryption (storage) key: anything else cannot activate.
    if !ek.has(attributes::RESTRICTED | attributes::DECRYPT | attributes::FIXED_TPM) {
        return Err(TpmError::NotAnEk(
            "not a restricted decryption key fixed to its TPM".into(),
        ));
    }
    let Some(sym_bits) = ek.symmetric_aes_bits else {
        return Err(TpmError::NotAnEk("no symmetric algorithm".into()));
    };
    let hash = ek.name_alg;
    if secret.is_empty() || secret.len() > hash.size() {
        return Err(TpmError::Malformed("credential size".into()));
    }
    let (seed, encrypted) = seed_for(ek, hash, rng)?;

    // §24.4: the credential as a TPM2B_DIGEST, encrypted under KDFa(seed, "STORAGE", Name).
    let sym_key = super::hash::kdfa(hash, &seed, "STORAGE", ak_name, &[], u32::from(sym_bits));
    let mut enc_identity = wire::sized(secret)?;
    cfb_encrypt(&sym_key, &mut enc_identity)?;
    // §24.5: the outer HMAC over encIdentity || Name, keyed with KDFa(seed, "INTEGRITY").
    let hmac_key = super::hash::kdfa(hash, &seed, "INTEGRITY", &[], &[], (hash.size() * 8) as u32);
    let outer_hmac = hash.hmac(&hmac_key, &[&enc_identity, ak_name]);
    let mut id_object = wire::sized(&outer_hmac)?;
    id_object.extend_from_slice(&enc_identity);
    Ok(MadeCredential {
        credential_blob: wire::sized(&id_object)?,
        encrypted_secret: wire::sized(&encrypted)?,
    })
}

/// The seed and its encryption to the EK (Part 1 §24.3 and Annex B.10.3 / C.6.4): RSA-OAEP
/// with label "IDENTITY", or ECDH with an ephemeral key and KDFe(Z, "IDENTITY").
fn seed_for(
    ek: &TpmPublic,
    hash: HashAlg,
    rng: &mut impl CryptoRngCore,
) -> Result<(Vec<u8>, Vec<u8>), TpmError> {
    match &ek.key {
        PublicKey::Rsa { modulus, exponent } => {
            let key = RsaPublicKey::new(BigUint::from_bytes_be(modulus), BigUint::from(*exponent))
                .map_err(|e| TpmError::Malformed(format!("EK RSA key: {e}")))?;
            let mut seed = vec![0; hash.size()];
            rng.fill_bytes(&mut seed);
            // The label includes its terminating zero (Part 1 §24.3 / B.10.4).
            let encrypted = match hash {
                HashAlg::Sha256 => key.encrypt(
                    rng,
                    Oaep::new_with_label::<sha2::Sha256, _>("IDENTITY\0"),
                    &seed,
                ),
                HashAlg::Sha384 => key.encrypt(
                    rng,
                    Oaep::new_with_label::<sha2::Sha384, _>("IDENTITY\0"),
                    &seed,
                ),
            }
            .map_err(|e| TpmError::Malformed(format!("RSA-OAEP: {e}")))?;
            Ok((seed, encrypted))
        }
        PublicKey::Ecc { curve, x, y } => {
            let (z, ephemeral_x, ephemeral_y) = ecdh(*curve, x, y, rng)?;
            let seed = super::hash::kdfe(
                hash,
                &z,
                "IDENTITY",
                &ephemeral_x,
                x,
                (hash.size() * 8) as u32,
            );
            // TPMS_ECC_POINT of the ephemeral key.
            let mut point = wire::sized(&ephemeral_x)?;
            point.extend(wire::sized(&ephemeral_y)?);
            Ok((seed, point))
        }
    }
}

/// The ECDH shared secret Z, then the ephemeral public key's x and y.
type Shared = (Vec<u8>, Vec<u8>, Vec<u8>);

/// One-pass Diffie-Hellman (C(1e, 1s), Part 1 §C.6.1): Z is the shared point's x.
fn ecdh(
    curve: Curve,
    x: &[u8],
    y: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Shared, TpmError> {
    let mut sec1 = vec![0x04];
    sec1.extend_from_slice(x);
    sec1.extend_from_slice(y);
    let bad = |_| TpmError::Malformed("EK point is not on its curve".into());
    match curve {
        Curve::P256 => {
            let public = p256::PublicKey::from_sec1_bytes(&sec1).map_err(bad)?;
            let ephemeral = p256::ecdh::EphemeralSecret::random(rng);
            let shared = ephemeral.diffie_hellman(&public);
            let point = p256::EncodedPoint::from(ephemeral.public_key());
            coordinates(shared.raw_secret_bytes().to_vec(), point.x(), point.y())
        }
        Curve::P384 => {
            let public = p384::PublicKey::from_sec1_bytes(&sec1).map_err(bad)?;
            let ephemeral = p384::ecdh::EphemeralSecret::random(rng);
            let shared = ephemeral.diffie_hellman(&public);
            let point = p384::EncodedPoint::from(ephemeral.public_key());
            coordinates(shared.raw_secret_bytes().to_vec(), point.x(), point.y())
        }
    }
}

fn coordinates<T: AsRef<[u8]>>(z: Vec<u8>, x: Option<T>, y: Option<T>) -> Result<Shared, TpmError> {
    match (x, y) {
        (Some(x), Some(y)) => Ok((z, x.as_ref().to_vec(), y.as_ref().to_vec())),
        _ => Err(TpmError::Malformed("ephemeral point".into())),
    }
}

/// AES-CFB with a zero IV (Part 1 §24.4: the key is used once, so no IV is needed).
pub(crate) fn cfb_encrypt(key: &[u8], data: &mut [u8]) -> Result<(), TpmError> {
    let iv = [0u8; 16];
    let bad = |_| TpmError::Malformed("symmetric key size".into());
    match key.len() {
        16 => cfb_mode::Encryptor::<aes::Aes128>::new_from_slices(key, &iv)
            .map_err(bad)?
            .encrypt(data),
        32 => cfb_mode::Encryptor::<aes::Aes256>::new_from_slices(key, &iv)
            .map_err(bad)?
            .encrypt(data),
        _ => return Err(TpmError::Malformed("symmetric key size".into())),
    }
    Ok(())
}

/// The inverse, for tests that play the TPM's part.
#[cfg(any(test, feature = "testing"))]
pub(crate) fn cfb_decrypt(key: &[u8], data: &mut [u8]) {
    let iv = [0u8; 16];
    match key.len() {
        16 => cfb_mode::Decryptor::<aes::Aes128>::new_from_slices(key, &iv)
            .map(|c| c.decrypt(data))
            .ok(),
        _ => cfb_mode::Decryptor::<aes::Aes256>::new_from_slices(key, &iv)
            .map(|c| c.decrypt(data))
            .ok(),
    };
}
