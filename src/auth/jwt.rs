//! Access tokens: JWT, HS256 only, with issuer and audience. Times are checked against
//! the service clock (so tests can move it), with a small leeway.

use std::collections::HashMap;
use std::sync::RwLock;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::domain::EpochMs;
use crate::domain::access::Role;

/// The claims MS5 puts in an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Username.
    pub sub: String,
    /// User id.
    pub uid: i64,
    /// Role.
    pub role: Role,
    /// Line scope; absent: all lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<String>>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Not before, seconds.
    pub nbf: i64,
    /// Issued at, seconds.
    pub iat: i64,
    /// Token id.
    pub jti: String,
    /// The user's `token_version` at issue (account changes raise it).
    #[serde(default)]
    pub ver: i64,
}

/// Why a token was refused (logged; the client only hears 401).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Bad signature, algorithm, issuer, audience or shape.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// Past `exp` + leeway.
    #[error("token expired")]
    Expired,
    /// Before `nbf` or `iat` − leeway.
    #[error("token not valid yet")]
    NotYetValid,
}

/// Most tokens whose signature is remembered as checked.
const VERIFIED_MAX: usize = 4_096;

/// Signs and checks access tokens.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    leeway_s: i64,
    /// Tokens whose signature, issuer and audience were checked, with their claims: a
    /// screen polling with the same token pays the HMAC once. Times are checked on every use.
    verified: RwLock<HashMap<Box<str>, Claims>>,
}

impl JwtKeys {
    /// Keys from a secret.
    pub fn new(secret: &[u8], issuer: &str, audience: &str, leeway_s: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Times are checked in `verify` against the service clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            leeway_s,
            verified: RwLock::default(),
        }
    }

    /// Signs `claims`.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(|e| TokenError::Invalid(e.to_string()))
    }

    /// Checks a token at `now` and returns its claims.
    pub fn verify(&self, token: &str, now: EpochMs) -> Result<Claims, TokenError> {
        let known = self.verified.read().ok().and_then(|m| m.get(token).cloned());
        let c = match known {
            Some(c) => c,
            None => {
                let data = decode::<Claims>(token, &self.decoding, &self.validation)
                    .map_err(|e| TokenError::Invalid(format!("{:?}", e.kind())))?;
                if let Ok(mut m) = self.verified.write() {
                    if m.len() >= VERIFIED_MAX {
                        m.clear();
                    }
                    m.insert(token.into(), data.claims.clone());
                }
                data.claims
            }
        };
        let now_s = now.div_euclid(1000);
        if now_s >= c.exp + self.leeway_s {
            return Err(TokenError::Expired);
        }
        if now_s + self.leeway_s < c.nbf || now_s + self.leeway_s < c.iat {
            return Err(TokenError::NotYetValid);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: EpochMs = 1_800_000_000_000;

    fn claims() -> Claims {
        Claims {
            sub: "ann".into(),
            uid: 1,
            role: Role::Operator,
            lines: Some(vec!["line-a".into()]),
            iss: "ms5".into(),
            aud: "ms5".into(),
            exp: NOW / 1000 + 1800,
            nbf: NOW / 1000,
            iat: NOW / 1000,
            jti: "j1".into(),
            ver: 0,
        }
    }

    fn keys() -> JwtKeys {
        JwtKeys::new(SECRET, "ms5", "ms5", 30)
    }

    #[test]
    fn times_are_checked_with_leeway() {
        let k = keys();
        let t = k.sign(&claims()).unwrap();
        // The first check remembers the signature; the later ones take that path, so the
        // times are checked on every use, not only the first.
        // (offset from issue in ms, expected)
        let table: &[(i64, Result<(), TokenError>)] = &[
            (0, Ok(())),
            (-29_000, Ok(())),
            (-31_000, Err(TokenError::NotYetValid)),
            (1_800_000 + 29_000, Ok(())),
            (1_800_000 + 30_000, Err(TokenError::Expired)),
        ];
        for (offset, want) in table {
            let got = k.verify(&t, NOW + offset).map(|c| assert_eq!(c, claims()));
            assert_eq!(&got, want, "at +{offset} ms");
        }
    }

    #[test]
    fn other_secrets_algorithms_issuers_and_alg_none_are_refused() {
        let k = keys();
        let other = JwtKeys::new(b"another-secret-another-secret-xx", "ms5", "ms5", 30);
        assert!(matches!(
            k.verify(&other.sign(&claims()).unwrap(), NOW),
            Err(TokenError::Invalid(_))
        ));
        let mut c = claims();
        c.iss = "someone-else".into();
        assert!(matches!(
            k.verify(&k.sign(&c).unwrap(), NOW),
            Err(TokenError::Invalid(_))
        ));
        let wrong_aud = JwtKeys::new(SECRET, "ms5", "other-app", 30);
        c = claims();
        c.aud = "other-app".into();
        assert!(wrong_aud.verify(&wrong_aud.sign(&c).unwrap(), NOW).is_ok());
        assert!(matches!(
            k.verify(&wrong_aud.sign(&c).unwrap(), NOW),
            Err(TokenError::Invalid(_))
        ));
        // alg none: the claims of a valid token with a `none` header and no signature.
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
        let none = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#));
        assert!(matches!(k.verify(&none, NOW), Err(TokenError::Invalid(_))));
        // HS384 with the right secret is still refused: the algorithm is pinned.
        let hs384 = encode(
            &Header::new(Algorithm::HS384),
            &claims(),
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(matches!(k.verify(&hs384, NOW), Err(TokenError::Invalid(_))));
        assert!(matches!(k.verify("not.a.token", NOW), Err(TokenError::Invalid(_))));
    }
}
