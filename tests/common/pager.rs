//! A real HTTP pager endpoint for tests: records every request, and answers per path:
//! `/ok/*` 200, `/pd/*` 202, `/flaky/*` 500 twice then 200, `/hang/*` never answers,
//! `/refuse/*` 400.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Page {
    /// Path.
    pub path: String,
    /// Headers (lower-case names).
    pub headers: HashMap<String, String>,
    /// Body.
    pub body: String,
    /// Parsed body.
    pub json: serde_json::Value,
}

/// The running pager server.
#[derive(Clone)]
pub struct PagerServer {
    /// http://127.0.0.1:PORT
    pub base: String,
    pages: Arc<Mutex<Vec<Page>>>,
}

async fn record(req: HttpRequest, body: web::Bytes, pages: web::Data<Mutex<Vec<Page>>>) -> HttpResponse {
    let path = req.path().to_owned();
    let text = String::from_utf8_lossy(&body).into_owned();
    let page = Page {
        path: path.clone(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        json: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        body: text,
    };
    let seen = {
        let mut all = pages.lock().unwrap_or_else(|p| p.into_inner());
        all.push(page);
        all.iter().filter(|p| p.path == path).count()
    };
    if path.starts_with("/hang") {
        actix_rt::time::sleep(Duration::from_secs(3600)).await;
    }
    match path.split('/').nth(1).unwrap_or_default() {
        "flaky" if seen <= 2 => HttpResponse::InternalServerError().finish(),
        "refuse" => HttpResponse::BadRequest().finish(),
        "pd" => HttpResponse::Accepted().json(serde_json::json!({"status": "success"})),
        _ => HttpResponse::Ok().finish(),
    }
}

impl PagerServer {
    /// Starts the server on a free port.
    pub fn start() -> PagerServer {
        let pages = web::Data::new(Mutex::new(Vec::new()));
        let shared = pages.clone().into_inner();
        let data = pages.clone();
        let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(record)))
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .expect("pager server binds");
        let port = server.addrs()[0].port();
        actix_rt::spawn(server.run());
        PagerServer {
            base: format!("http://127.0.0.1:{port}"),
            pages: shared,
        }
    }

    /// Everything received so far.
    pub fn pages(&self) -> Vec<Page> {
        self.pages.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Requests received on a path.
    pub fn on(&self, path: &str) -> Vec<Page> {
        self.pages().into_iter().filter(|p| p.path == path).collect()
    }

    /// Waits (up to 10 s) until `path` has received `n` requests, and returns them.
    pub async fn wait_for(&self, path: &str, n: usize) -> Vec<Page> {
        for _ in 0..1000 {
            let got = self.on(path);
            if got.len() >= n {
                return got;
            }
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{path}: expected {n} requests, got {:?}", self.on(path));
    }
}
