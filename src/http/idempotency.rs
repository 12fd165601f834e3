//! The `Idempotency-Key` header on operator writes (the routes marked `idempotent` in the
//! route table): the first request with a key is applied and its answer kept; the same
//! key and body again gets that answer back (`Idempotent-Replayed: true`) and applies
//! nothing; the same key with another request is a 422. Keys belong to the signed-in
//! caller, so two users never see each other's answers. The rules are in
//! `domain::idempotency`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};
use futures_util::StreamExt;

use super::AppState;
use super::access::Caller;
use super::error::ApiError;
use crate::domain::idempotency::{Verdict, decide, fingerprint, keep_answer, parse_key};
use crate::store::KeptAnswer;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The answer header on a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";

/// The middleware of one route; `idempotent` comes from the route table.
pub async fn replay(
    idempotent: bool,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let raw = req.headers().get(HEADER).map(HeaderValue::to_str);
    let (Some(raw), true) = (raw, idempotent) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let key = match raw.map_err(|_| ApiError::bad_request("the Idempotency-Key header is not ASCII")) {
        Ok(raw) => match parse_key(raw) {
            Ok(k) => k.to_owned(),
            Err(e) => return Ok(req.into_response(ApiError::bad_request(e.to_string()).error_response())),
        },
        Err(e) => return Ok(req.into_response(e.error_response())),
    };
    let (Some(state), Some(caller)) = (
        req.app_data::<web::Data<AppState>>().cloned(),
        req.extensions().get::<Caller>().cloned(),
    ) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let user = caller.principal.name();
    let mut req = req;
    let body = match read_body(&mut req.take_payload(), state.settings.http.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return Ok(req.into_response(e.error_response())),
    };
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned());
    let print = fingerprint(req.method().as_str(), &path, &body);
    req.set_payload(Payload::from(web::Bytes::from(body)));

    let (stored, content_type) = match state
        .store
        .claim_idempotency_key(&key, &user, &print, state.clock.now_ms())
        .await
    {
        Ok(found) => found,
        Err(e) => return Ok(req.into_response(ApiError::from(e).error_response())),
    };
    match decide(stored, &print) {
        Verdict::Apply => {}
        Verdict::Replay { status, body } => {
            let mut res = HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK));
            res.insert_header((REPLAYED, "true"));
            if let Some(ct) = content_type {
                res.insert_header((CONTENT_TYPE, ct));
            }
            return Ok(req.into_response(res.body(body)));
        }
        Verdict::Mismatch => {
            let err = ApiError::KeyReused(
                "this Idempotency-Key was used for another request; send a new key for a new action".into(),
            );
            return Ok(req.into_response(err.error_response()));
        }
        Verdict::InFlight => {
            let err =
                ApiError::Conflict("a request with this Idempotency-Key is still being applied; try again".into());
            return Ok(req.into_response(err.error_response()));
        }
    }

    let res = match next.call(req).await {
        Ok(res) => res,
        Err(e) => {
            forget(&state, &key, &user).await;
            return Err(e);
        }
    };
    let status = res.status().as_u16();
    if !keep_answer(status) {
        forget(&state, &key, &user).await;
        return Ok(res.map_into_boxed_body());
    }
    let (http_req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = match actix_web::body::to_bytes(body).await {
        Ok(b) => b,
        Err(_) => {
            forget(&state, &key, &user).await;
            let err = ApiError::Unavailable("the answer could not be read".into());
            return Ok(ServiceResponse::new(http_req, err.error_response()));
        }
    };
    let answer = KeptAnswer {
        status,
        content_type: head
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: bytes.to_vec(),
    };
    if let Err(e) = state.store.keep_idempotent_answer(&key, &user, &answer).await {
        // The write is applied; only its replay is lost. Say so in the log.
        tracing::error!(error = %e, key = %key, "cannot keep an idempotent answer");
    }
    Ok(ServiceResponse::new(
        http_req,
        head.set_body(bytes).map_into_boxed_body(),
    ))
}

async fn forget(state: &AppState, key: &str, user: &str) {
    if let Err(e) = state.store.release_idempotency_key(key, user).await {
        tracing::error!(error = %e, key = %key, "cannot release an idempotency key");
    }
}

/// Reads the whole body (up to `limit` bytes).
async fn read_body(payload: &mut Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("cannot read body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
