//! jsonwebtoken's signature checks, on ring, for the RSA family only.
//!
//! The authorize package must stay under 1 MiB zipped. jsonwebtoken's
//! built-in backends register every algorithm they know; and aws-lc (the
//! `aws_lc_rs` backend) links its FIPS module as one object, so an RSA
//! verification there brings 2.0 MB of code and tables it never runs
//! (AVX-512 AES-GCM, P-256/384/521 and Ed25519 tables): 1.29 MiB zipped at
//! best. ring's RSA verification runs the same kind of Montgomery assembly
//! and links only what it uses. Figures: docs/performance.md.
//!
//! ID tokens from Cognito and from most OpenID providers are RS256;
//! RS384/512 and PS256/384/512 come at no extra cost.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::signature::{self as sig, RsaPublicKeyComponents};

/// The algorithms this build can verify.
pub const SUPPORTED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

static PROVIDER: CryptoProvider = CryptoProvider {
    // The gateway never signs.
    signer_factory: |_: &Algorithm, _: &EncodingKey| -> Result<Box<dyn JwtSigner>> {
        Err(ErrorKind::InvalidAlgorithm.into())
    },
    verifier_factory,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes this the process's jsonwebtoken provider; idempotent.
pub fn install() {
    let _ = PROVIDER.install_default();
}

fn parameters(algorithm: Algorithm) -> Option<&'static sig::RsaParameters> {
    Some(match algorithm {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

fn verifier_factory(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    let params = parameters(*algorithm).ok_or(ErrorKind::InvalidAlgorithm)?;
    match key.kind() {
        DecodingKeyKind::RsaModulusExponent { n, e } => Ok(Box::new(RsaVerifier {
            algorithm: *algorithm,
            params,
            n: n.clone(),
            e: e.clone(),
        })),
        DecodingKeyKind::SecretOrDer(_) => Err(ErrorKind::InvalidKeyFormat.into()),
    }
}

struct RsaVerifier {
    algorithm: Algorithm,
    params: &'static sig::RsaParameters,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl signature::Verifier<Vec<u8>> for RsaVerifier {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> std::result::Result<(), signature::Error> {
        RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(self.params, message, signature)
        .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for RsaVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}
