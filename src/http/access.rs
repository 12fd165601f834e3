//! Enforces the route table's [`Access`] on every request: finds the credential, asks
//! `domain::access::decide`, applies maintenance mode, and hands the handler a [`Caller`].

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};

use super::AppState;
use super::error::ApiError;
use crate::auth::jwt::Claims;
use crate::config::ProxyRange;
use crate::domain::access::{Access, Denial, Principal, decide};
use crate::domain::flags::Flag;

/// The authenticated caller of a request, and where it came from.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who.
    pub principal: Principal,
    /// Client address.
    pub addr: String,
    /// The claims of the access token it came with (a person's), for WebSocket expiry
    /// and revocation.
    pub claims: Option<Claims>,
}

impl Caller {
    /// Fails with 403 unless the caller may see `line`.
    pub fn require_line(&self, line: &str) -> Result<(), ApiError> {
        if self.principal.sees_line(line) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("you are not assigned to line `{line}`")))
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Caller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Caller>()
                .cloned()
                .ok_or_else(|| ApiError::Unauthorized("sign in first".into())),
        )
    }
}

/// The client address of a request: the TCP peer, or, when the peer is one of
/// `http.trusted_proxies`, the nearest address in `X-Forwarded-For` that is not a trusted
/// proxy (read from the right: entries further left are whatever the client claimed).
pub fn client_addr(req: &HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip().to_canonical()) else {
        return "unknown".to_owned();
    };
    let trusted: &[ProxyRange] = req
        .app_data::<web::Data<AppState>>()
        .map_or(&[], |s| s.trusted_proxies.as_slice());
    // Several header lines (a proxy may append its own) read as one list, in order.
    let lines: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    let forwarded = (!lines.is_empty()).then(|| lines.join(","));
    forwarded_client(peer, trusted, forwarded.as_deref()).to_string()
}

/// See [`client_addr`].
pub fn forwarded_client(peer: IpAddr, trusted: &[ProxyRange], forwarded_for: Option<&str>) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|r| r.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.unwrap_or("").rsplit(',') {
        match hop.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()) {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// The WebSocket subprotocol that carries a token next to it (browsers cannot set
/// headers on a WebSocket, and a token in the URL would end up in proxy logs).
pub const BEARER_PROTOCOL: &str = "ms5.bearer";

/// The bearer credential: `Authorization: Bearer …`, or on `/ws` the token offered as a
/// subprotocol beside [`BEARER_PROTOCOL`].
pub fn credential(req: &HttpRequest) -> Option<String> {
    if let Some(h) = req.headers().get(actix_web::http::header::AUTHORIZATION) {
        let v = h.to_str().ok()?;
        let (scheme, token) = v.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned());
    }
    if req.path() == "/ws" {
        let offered = req.headers().get("sec-websocket-protocol")?.to_str().ok()?;
        let protocols: Vec<&str> = offered.split(',').map(str::trim).collect();
        if protocols.contains(&BEARER_PROTOCOL) {
            return protocols.into_iter().find(|p| *p != BEARER_PROTOCOL).map(str::to_owned);
        }
    }
    None
}

/// The middleware of one route: `access` comes from the route table.
pub async fn authorize(
    access: Access,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        let err = ApiError::Unavailable("not ready".into());
        return Ok(req.into_response(err.error_response()));
    };
    let given = credential(req.request());
    let (principal, claims) = given
        .as_deref()
        .and_then(|c| state.auth.authenticate(c))
        .map_or((None, None), |(p, c)| (Some(p), c));
    let needed = if access == Access::Metrics && !state.auth.metrics_protected() {
        Access::Open
    } else {
        access
    };
    if let Err(denial) = decide(needed, principal.as_ref()) {
        let err = match denial {
            Denial::Unauthenticated if given.is_some() => {
                ApiError::Unauthorized("the token is invalid, expired or revoked: sign in again".into())
            }
            Denial::Unauthenticated => ApiError::Unauthorized("sign in: send `Authorization: Bearer <token>`".into()),
            Denial::Forbidden(needs) => ApiError::Forbidden(format!("this needs {needs}")),
        };
        return Ok(req.into_response(err.error_response()));
    }
    if access.paused_in_maintenance()
        && state.flags.get(Flag::MaintenanceMode)
        && !principal.as_ref().is_some_and(Principal::is_admin)
    {
        let err = ApiError::Maintenance(
            "MS5 is in maintenance mode: changes are paused until an admin ends it; reads still work".into(),
        );
        return Ok(req.into_response(err.error_response()));
    }
    if let Some(principal) = principal {
        let addr = client_addr(req.request());
        req.extensions_mut().insert(Caller {
            principal,
            addr,
            claims,
        });
    }
    next.call(req).await.map(ServiceResponse::map_into_boxed_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let proxy: Vec<ProxyRange> = ["10.0.0.1", "10.0.0.2", "10.244.0.0/16"]
            .iter()
            .map(|r| r.parse().unwrap())
            .collect();
        // (peer, X-Forwarded-For, client)
        let table = [
            ("10.0.0.1", Some("203.0.113.7"), "203.0.113.7"),
            ("10.0.0.1", Some("198.51.100.1, 203.0.113.7"), "203.0.113.7"),
            ("10.0.0.1", Some("203.0.113.7, 10.0.0.2"), "203.0.113.7"),
            // a proxy inside a trusted range (an ingress controller's pod)
            ("10.244.7.3", Some("203.0.113.7"), "203.0.113.7"),
            ("10.0.0.1", Some("203.0.113.7, 10.244.9.9"), "203.0.113.7"),
            ("10.0.0.1", None, "10.0.0.1"),
            ("10.0.0.1", Some("garbage"), "10.0.0.1"),
            ("192.0.2.9", Some("203.0.113.7"), "192.0.2.9"),
        ];
        for (peer, xff, want) in table {
            assert_eq!(forwarded_client(ip(peer), &proxy, xff), ip(want), "{peer} {xff:?}");
        }
    }
}
