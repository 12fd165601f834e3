//! The HTTPS client an edge forwards with: rustls with the Mozilla roots and, when
//! `forward.ca_file` names one, the plant's own certificate authorities. Certificates are
//! always checked; there is no switch to turn that off.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::domain::forward::{ForwardAnswer, ForwardBatch};

/// Why a request to the central failed as a whole (every record of it stays queued).
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Not reached, or no answer in time.
    #[error("cannot reach the central: {0}")]
    Unreachable(String),
    /// The central answered with an error status.
    #[error("the central answered {status}: {body}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The start of its body.
        body: String,
    },
    /// The answer was not what the protocol says.
    #[error("bad answer from the central: {0}")]
    BadAnswer(String),
}

/// Why the client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The CA file is unreadable or holds no certificate.
    #[error("forward.ca_file {path}: {reason}")]
    CaFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// The client: trusts the Mozilla roots and the certificates in `ca_file`.
pub fn build(ca_file: Option<&Path>, timeout: Duration) -> Result<awc::Client, ClientError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        let err = |reason: String| ClientError::CaFile {
            path: path.display().to_string(),
            reason,
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| err(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| err(e.to_string()))?;
        if certs.is_empty() {
            return Err(err("no PEM certificate in it".into()));
        }
        for c in certs {
            roots.add(c).map_err(|e| err(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::CaFile {
            path: String::new(),
            reason: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(awc::Client::builder()
        .connector(awc::Connector::new().rustls_0_23(Arc::new(config)))
        .timeout(timeout)
        .disable_redirects()
        .finish())
}

/// Posts one batch to `{url}/api/v1/forward` with the forward token.
pub async fn send(
    client: &awc::Client,
    url: &str,
    token: &str,
    batch: &ForwardBatch,
) -> Result<ForwardAnswer, SendError> {
    let endpoint = format!("{}/api/v1/forward", url.trim_end_matches('/'));
    let mut res = client
        .post(endpoint)
        .bearer_auth(token)
        .send_json(batch)
        .await
        .map_err(|e| SendError::Unreachable(e.to_string()))?;
    let status = res.status();
    // Answers are one result per record: a few dozen bytes each.
    let body = res
        .body()
        .limit(16 * 1024 * 1024)
        .await
        .map_err(|e| SendError::Unreachable(e.to_string()))?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        return Err(SendError::Status {
            status: status.as_u16(),
            body: text.chars().take(300).collect(),
        });
    }
    let answer: ForwardAnswer = serde_json::from_slice(&body).map_err(|e| SendError::BadAnswer(e.to_string()))?;
    if answer.results.len() != batch.records.len()
        || answer.results.iter().zip(&batch.records).any(|(a, r)| a.seq != r.seq)
    {
        return Err(SendError::BadAnswer(
            "the results do not match the records sent, one for one".into(),
        ));
    }
    Ok(answer)
}
