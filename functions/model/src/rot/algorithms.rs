//! The certificate signature algorithms the registry accepts, on RustCrypto's pure-Rust curves.
//!
//! rustls-webpki leaves the arithmetic to a provider; a C provider (aws-lc) would keep the
//! domain from compiling to WebAssembly, where the portal verifies the registry's statements
//! with this same crate.

use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use rustls_pki_types::alg_id::{ECDSA_P256, ECDSA_P384, ECDSA_SHA256, ECDSA_SHA384};
use rustls_pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};
use sha2::{Digest as _, Sha256, Sha384};

#[derive(Debug, Clone, Copy)]
enum Curve {
    P256,
    P384,
}

#[derive(Debug, Clone, Copy)]
enum Hash {
    Sha256,
    Sha384,
}

/// ECDSA on `curve` over a `hash` digest; the signature is DER, the key an uncompressed point.
#[derive(Debug)]
pub struct Ecdsa {
    curve: Curve,
    hash: Hash,
}

pub static ECDSA_P256_SHA256: &Ecdsa = &Ecdsa {
    curve: Curve::P256,
    hash: Hash::Sha256,
};
pub static ECDSA_P256_SHA384: &Ecdsa = &Ecdsa {
    curve: Curve::P256,
    hash: Hash::Sha384,
};
pub static ECDSA_P384_SHA256: &Ecdsa = &Ecdsa {
    curve: Curve::P384,
    hash: Hash::Sha256,
};
pub static ECDSA_P384_SHA384: &Ecdsa = &Ecdsa {
    curve: Curve::P384,
    hash: Hash::Sha384,
};

impl SignatureVerificationAlgorithm for Ecdsa {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let digest = match self.hash {
            Hash::Sha256 => Sha256::digest(message).to_vec(),
            Hash::Sha384 => Sha384::digest(message).to_vec(),
        };
        // A digest longer than the curve's order is truncated to its leftmost bits (SEC 1
        // 4.1.3), which the prehash verifiers do.
        let verified = match self.curve {
            Curve::P256 => {
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key);
                let signature = p256::ecdsa::Signature::from_der(signature);
                match (key, signature) {
                    (Ok(key), Ok(signature)) => key.verify_prehash(&digest, &signature).is_ok(),
                    _ => false,
                }
            }
            Curve::P384 => {
                let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(public_key);
                let signature = p384::ecdsa::Signature::from_der(signature);
                match (key, signature) {
                    (Ok(key), Ok(signature)) => key.verify_prehash(&digest, &signature).is_ok(),
                    _ => false,
                }
            }
        };
        if verified {
            Ok(())
        } else {
            Err(InvalidSignature)
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        match self.curve {
            Curve::P256 => ECDSA_P256,
            Curve::P384 => ECDSA_P384,
        }
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        match self.hash {
            Hash::Sha256 => ECDSA_SHA256,
            Hash::Sha384 => ECDSA_SHA384,
        }
    }
}

/// RSASSA-PKCS1-v1_5 (RFC 8017 §8.2): the signature TPM manufacturers' CAs put on EK
/// certificates (and swtpm's local CA). Keys under 2048 bits are refused.
#[derive(Debug)]
pub struct RsaPkcs1 {
    hash: Hash,
}

pub static RSA_PKCS1_SHA256: &RsaPkcs1 = &RsaPkcs1 { hash: Hash::Sha256 };
pub static RSA_PKCS1_SHA384: &RsaPkcs1 = &RsaPkcs1 { hash: Hash::Sha384 };

const MIN_RSA_BITS: usize = 2048;

impl SignatureVerificationAlgorithm for RsaPkcs1 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use rsa::pkcs1::DecodeRsaPublicKey as _;
        use rsa::traits::PublicKeyParts as _;
        // webpki hands over the subjectPublicKey bits: a PKCS#1 RSAPublicKey.
        let key = rsa::RsaPublicKey::from_pkcs1_der(public_key).map_err(|_| InvalidSignature)?;
        if key.n().bits() < MIN_RSA_BITS {
            return Err(InvalidSignature);
        }
        let verified = match self.hash {
            Hash::Sha256 => key.verify(
                rsa::Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(message),
                signature,
            ),
            Hash::Sha384 => key.verify(
                rsa::Pkcs1v15Sign::new::<Sha384>(),
                &Sha384::digest(message),
                signature,
            ),
        };
        verified.map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        rustls_pki_types::alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        match self.hash {
            Hash::Sha256 => rustls_pki_types::alg_id::RSA_PKCS1_SHA256,
            Hash::Sha384 => rustls_pki_types::alg_id::RSA_PKCS1_SHA384,
        }
    }
}
