//! `deploy/nginx/ms5.conf` in front of a real MS5: Debian's nginx started as a child process
//! on loopback ports with a temporary prefix and a certificate made by `openssl` for the test.
//! `nginx -t` accepts the file; REST over HTTPS, the audit log naming the real client (the
//! proxy's X-Forwarded-For against MS5's `http.trusted_proxies`), a WebSocket subscription
//! through the proxy, HSTS, the HTTP redirect, cached board files, the body limit and the
//! closed `/metrics`. Without nginx or openssl the test is skipped unless
//! `MS5_REQUIRE_DEPLOY_TOOLS` is set.

mod common;

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use awc::ws::{Frame, Message};
use common::nginx::{certificates, main_config, site_config};
use common::tools::{find, repo, require};
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

/// The client's own address: another loopback address than nginx's, so MS5 telling them
/// apart proves the forwarding.
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// Stops nginx when the test ends, however it ends.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: the master stops its workers before it exits.
        if let Ok(pid) = i32::try_from(self.0.id()) {
            // SAFETY: kill has no memory preconditions; pid is our own child.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A client that trusts only the test CA, connects from [`CLIENT`] and speaks HTTP/1.1
/// (`tls12_only` pins TLS 1.2 to show the proxy accepts it).
fn https_client(ca: &[u8], tls12_only: bool) -> awc::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(ca.to_vec()))
        .expect("the test CA");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    awc::Client::builder()
        .connector(
            awc::Connector::new()
                .rustls_0_23(Arc::new(config))
                .local_address(CLIENT),
        )
        .timeout(Duration::from_secs(20))
        .disable_redirects()
        .finish()
}

async fn wait_for_port(port: u16, nginx: &mut Nginx) {
    for _ in 0..200 {
        if let Ok(Some(status)) = nginx.0.try_wait() {
            panic!("nginx exited at start: {status}");
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nginx is not listening on {port}");
}

#[actix_web::test]
async fn nginx_proxies_rest_and_websockets_with_the_real_client_address() {
    let Some(nginx) = require(find("nginx", "MS5_NGINX", None), "nginx") else {
        return;
    };
    let Some(openssl) = require(find("openssl", "MS5_OPENSSL", None), "openssl") else {
        return;
    };
    let data = temp();
    let app = spawn_app(Spawn {
        plant: TEST_PLANT,
        dir: data.path(),
        clock: ms5::clock::Clock::System,
        simulator: false,
        // nginx connects from 127.0.0.1, as on a host where it runs beside MS5.
        settings: json!({ "http": { "trusted_proxies": ["127.0.0.1"] } }),
    })
    .await;
    let ms5_port: u16 = app.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");

    let prefix = temp();
    let dir = prefix.path();
    let ca = certificates(&openssl, dir);
    let (https, http) = (free_port(), free_port());
    std::fs::write(dir.join("ms5.conf"), site_config(dir, ms5_port, https, http)).expect("ms5.conf");
    std::fs::write(dir.join("nginx.conf"), main_config(dir)).expect("nginx.conf");
    let conf = dir.join("nginx.conf");
    let conf = conf.to_str().expect("utf-8 path");
    let prefix_arg = format!("{}/", dir.display());

    // nginx -t: the configuration as a whole is accepted.
    let checked = Command::new(&nginx)
        .args(["-t", "-p", &prefix_arg, "-c", conf])
        .output()
        .expect("nginx -t");
    let said = String::from_utf8_lossy(&checked.stderr);
    assert!(
        checked.status.success() && said.contains("test is successful"),
        "nginx -t: {said}"
    );

    let mut server = Nginx(
        Command::new(&nginx)
            .args(["-p", &prefix_arg, "-c", conf])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx"),
    );
    wait_for_port(https, &mut server).await;
    let base = format!("https://localhost:{https}");
    let client = https_client(&ca, false);

    // REST over HTTPS, with HSTS.
    let res = client.get(format!("{base}/health")).send().await.expect("GET /health");
    assert_eq!(res.status().as_u16(), 200);
    let hsts = res
        .headers()
        .get("strict-transport-security")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(hsts.starts_with("max-age=63072000"), "HSTS: {hsts:?}");
    // TLS 1.2 is accepted as well as 1.3.
    let res = https_client(&ca, true)
        .get(format!("{base}/ready"))
        .send()
        .await
        .expect("GET /ready over TLS 1.2");
    assert_eq!(res.status().as_u16(), 200);

    // Plain HTTP is redirected to HTTPS.
    let res = awc::Client::builder()
        .disable_redirects()
        .finish()
        .get(format!("http://127.0.0.1:{http}/health"))
        .insert_header(("Host", "ms5.example.com"))
        .send()
        .await
        .expect("GET over http");
    assert_eq!(res.status().as_u16(), 301);
    assert_eq!(
        res.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("https://ms5.example.com/health")
    );

    // A write through the proxy is audited with the client's address, not nginx's.
    let mut res = client
        .post(format!("{base}/api/v1/andon/tickets"))
        .bearer_auth(&app.token)
        .send_json(&json!({
            "line": "line-a", "category": "maintenance", "priority": "high", "description": "via nginx"
        }))
        .await
        .expect("raise");
    let body: Value = res.json().await.expect("ticket JSON");
    assert_eq!(res.status().as_u16(), 201, "{body}");
    let (_, page) = app.get("/api/v1/audit?action=andon.raise&limit=1").await;
    assert_eq!(page["entries"][0]["source"], json!(CLIENT.to_string()), "{page}");

    // A WebSocket subscription through the proxy (with a browser's Origin: the proxy passes
    // the Host with its port, so MS5's origin check sees its own origin).
    let (_, mut socket) = client
        .ws(format!("wss://localhost:{https}/ws"))
        .origin(base.as_str())
        .bearer_auth(&app.token)
        .connect()
        .await
        .expect("wss through nginx");
    socket
        .send(Message::Text(
            json!({"type": "subscribe", "channel": "line:line-a"})
                .to_string()
                .into(),
        ))
        .await
        .expect("subscribe");
    let snapshot = loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("open")
            .expect("frame");
        if let Frame::Text(bytes) = frame {
            let v: Value = serde_json::from_slice(&bytes).expect("JSON");
            if v["type"] == json!("snapshot") {
                break v;
            }
        }
    };
    assert_eq!(snapshot["channel"], json!("line:line-a"));
    assert_eq!(snapshot["data"]["id"], json!("line-a"));

    // The board's files are cached by the proxy: the second request is a hit.
    let statuses = {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let mut res = client.get(format!("{base}/app.js")).send().await.expect("GET /app.js");
            assert_eq!(res.status().as_u16(), 200);
            let _ = res.body().limit(4 << 20).await.expect("app.js");
            let cache = res.headers().get("x-cache-status").and_then(|v| v.to_str().ok());
            seen.push(cache.unwrap_or_default().to_owned());
        }
        seen
    };
    assert_eq!(statuses, ["MISS", "HIT"]);

    // A body over MS5's max_body_bytes is refused by the proxy already.
    let res = client
        .post(format!("{base}/api/v1/ingest"))
        .bearer_auth(&app.token)
        .insert_header(("Content-Type", "application/json"))
        .send_body(vec![b' '; (1 << 20) + 1])
        .await
        .expect("oversized POST");
    assert_eq!(res.status().as_u16(), 413);

    // /metrics is not public.
    let res = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(res.status().as_u16(), 403);
}

/// nginx's body limit equals MS5's production `http.max_body_bytes`.
#[test]
fn the_proxy_body_limit_matches_max_body_bytes() {
    let conf = std::fs::read_to_string(repo().join("deploy/nginx/ms5.conf")).expect("conf");
    let limit = conf
        .lines()
        .find_map(|l| l.trim().strip_prefix("client_max_body_size "))
        .and_then(|v| v.trim_end_matches(';').strip_suffix('m'))
        .and_then(|v| v.parse::<usize>().ok())
        .expect("client_max_body_size <n>m")
        << 20;
    let production = std::fs::read_to_string(repo().join("config/production.toml")).expect("production.toml");
    let bytes = production
        .lines()
        .find_map(|l| l.trim().strip_prefix("max_body_bytes"))
        .and_then(|v| v.trim_start_matches([' ', '=']).split_whitespace().next())
        .and_then(|v| v.parse::<usize>().ok())
        .expect("max_body_bytes in production.toml");
    assert_eq!(limit, bytes);
}
