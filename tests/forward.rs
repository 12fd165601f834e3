//! Edge store-and-forward between two real `ms5 serve` processes: an edge fed over ingest
//! and REST, and a central (behind nginx with a certificate from a test CA, in the main
//! test). The central is down while the edge records, then comes up (and later stops and
//! comes back on the same data): every record arrives
//! exactly once, in order per stream, and the central's tables equal the edge's. A replay
//! is not doubled; records the central refuses go to the edge's quarantine (metric and
//! admin endpoint); a full outbox drops the oldest telemetry and says so. The main test
//! runs with the central on SQLite and again on PostgreSQL (`MS5_TEST_POSTGRES_URL`).
//! Without nginx or openssl it is skipped unless `MS5_REQUIRE_DEPLOY_TOOLS` is set.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::nginx::{certificates, main_config, site_config};
use common::node::{Node, Proc, free_port};
use common::stores::postgres_server;
use common::tools::{find, require};
use common::{TEST_PLANT, postgres_database};
use serde_json::{Value, json};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};

const FORWARD_TOKEN: &str = "forward-token-forward-token-0123";
const INGEST_TOKEN: &str = "ingest-token-ingest-token-0123";

/// The edge's plant header: machines never go stale during a test, so nothing is recorded
/// after the test stops feeding.
const EDGE_HEADER: &str = r#"
timezone = "UTC"
microstop_threshold = "2m"
stale_after = "1h"

[[shifts]]
name = "early"
start = "00:00"
end = "12:00"

[[shifts]]
name = "late"
start = "12:00"
end = "00:00"
"#;

/// The edge's second line.
const LINE_Q: &str = r#"
[[lines]]
id = "line-q"
name = "Line Q"
output_machine = "q-press"
constraint_machine = "q-press"
EDGE_Q

[[lines.machines]]
id = "q-press"
name = "Press"
ideal_cycle_time = "1s"
tags = { state = { tag = "Q.Press.State" }, total = { tag = "Q.Press.Total", width = 32 } }
"#;

/// The edge's plant: the harness's line-a (two machines) and line-q, with each line's
/// `edge` key (on a central), or none (on the edge).
fn plant(edge_a: Option<&str>, edge_q: Option<&str>) -> String {
    let key = |e: Option<&str>| e.map(|e| format!("edge = \"{e}\"")).unwrap_or_default();
    let line_a = TEST_PLANT
        .find("[[lines]]")
        .map_or(TEST_PLANT, |at| &TEST_PLANT[at..])
        .replacen(
            "constraint_machine = \"a-filler\"\n",
            &format!("constraint_machine = \"a-filler\"\n{}\n", key(edge_a)),
            1,
        );
    format!("{EDGE_HEADER}\n{line_a}{}", LINE_Q.replace("EDGE_Q", &key(edge_q)))
}

/// Tag samples, a minute apart from `t0`: the filler runs, jams for 3 minutes (a
/// downtime event), runs again; the packer runs and counts; line-q's press runs.
fn samples(t0: i64) -> Vec<Value> {
    let min = 60_000;
    let mut out = Vec::new();
    let mut total = 0;
    for i in 0..12 {
        let ts = t0 + i * min;
        let jammed = (4..7).contains(&i);
        if !jammed {
            total += 50;
        }
        out.push(json!({ "tag": "A.Filler.State", "value": if jammed { 3 } else { 1 }, "ts": ts }));
        out.push(json!({ "tag": "A.Filler.Fault", "value": if jammed { 7 } else { 0 }, "ts": ts }));
        out.push(json!({ "tag": "A.Filler.Total", "value": total, "ts": ts }));
        out.push(json!({ "tag": "A.Filler.Reject", "value": i, "ts": ts }));
        out.push(json!({ "tag": "A.Packer.Run", "value": true, "ts": ts }));
        out.push(json!({ "tag": "A.Packer.Fault", "value": false, "ts": ts }));
        out.push(json!({ "tag": "A.Packer.Good", "value": total / 2, "ts": ts }));
        out.push(json!({ "tag": "Q.Press.State", "value": 1, "ts": ts }));
        out.push(json!({ "tag": "Q.Press.Total", "value": total, "ts": ts }));
    }
    out
}

/// Feeds the edge: samples one minute at a time, and a ticket raised, acknowledged,
/// resolved (ticket, events and audit entries).
async fn feed(edge: &Node, admin: &str, t0: i64) {
    let all = samples(t0);
    for chunk in all.chunks(9) {
        let (status, body) = edge
            .call(
                "POST",
                "/api/v1/ingest",
                INGEST_TOKEN,
                Some(&Value::from(chunk.to_vec())),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        // Each minute written on its own, so rows are updated and forwarded again.
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let raise = json!({ "line": "line-a", "machine": "a-filler", "category": "maintenance",
        "priority": "high", "description": "jam at the filler" });
    let (status, ticket) = edge.call("POST", "/api/v1/andon/tickets", admin, Some(&raise)).await;
    assert_eq!(status, 201, "{ticket}");
    let id = ticket["id"].as_i64().expect("ticket id");
    for action in ["acknowledge", "resolve"] {
        let path = format!("/api/v1/andon/tickets/{id}/{action}");
        let (status, body) = edge.call("POST", &path, admin, Some(&json!({}))).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
}

/// What [`produce`] made on the edge (the edge's ids).
struct Made {
    job: i64,
    reject: i64,
    template: i64,
    order: i64,
}

/// An edge call that must answer `want`; its body.
async fn ok(edge: &Node, admin: &str, method: &str, path: &str, body: Value, want: u16) -> Value {
    let (status, answer) = edge.call(method, path, admin, Some(&body)).await;
    assert_eq!(status, want, "{method} {path}: {answer}");
    answer
}

/// Production management on the edge: two products, a checklist template, a failed
/// checklist (it raises a ticket), a handover note, a running job, a reject, and a
/// maintenance order from the filler's jam and that ticket, started, with a note and parts.
async fn produce(edge: &Node, admin: &str) -> Made {
    let cola = json!({ "name": "Cola 2 l", "ideal_cycle_ms": 2000 });
    ok(edge, admin, "PUT", "/api/v1/products/cola-2l", cola, 201).await;
    let lemon = json!({ "name": "Lemon 1 l", "ideal_cycle_ms": 1500, "machine_cycles": { "a-filler": 1200 } });
    ok(edge, admin, "PUT", "/api/v1/products/lemon-1l", lemon, 201).await;
    let template = json!({ "line": "line-a", "name": "Start-up", "blocks_job_start": false,
        "andon_on_failure": { "category": "safety", "priority": "high" },
        "items": [{ "key": "guard", "label": "Guards closed?", "kind": "yes_no" }] });
    let template = ok(edge, admin, "POST", "/api/v1/checklist-templates", template, 201).await;
    let template = template["id"].as_i64().expect("template id");
    let fill = json!({ "template": template, "answers": { "guard": false } });
    let checklist = ok(edge, admin, "POST", "/api/v1/lines/line-a/checklists", fill, 201).await;
    let ticket = checklist["ticket"]
        .as_i64()
        .expect("the failed checklist raised a ticket");
    let note = json!({ "note": "filler jammed at the infeed" });
    ok(edge, admin, "POST", "/api/v1/lines/line-a/handover", note, 201).await;
    let job = json!({ "line": "line-a", "product": "cola-2l", "target": 500, "notes": "order 4711" });
    let job = ok(edge, admin, "POST", "/api/v1/jobs", job, 201).await["id"]
        .as_i64()
        .expect("job id");
    for step in ["release", "start"] {
        ok(
            edge,
            admin,
            "POST",
            &format!("/api/v1/jobs/{job}/{step}"),
            json!({}),
            200,
        )
        .await;
    }
    let reject = json!({ "machine": "a-filler", "defect": "surface/scratch", "quantity": 3 });
    let reject = ok(edge, admin, "POST", "/api/v1/rejects", reject, 201).await["id"]
        .as_i64()
        .expect("reject id");
    let (status, stops) = edge.call("GET", "/api/v1/downtime?machine=a-filler", admin, None).await;
    assert_eq!(status, 200, "{stops}");
    let stop = stops["downtime"][0]["id"].as_i64().expect("the jam's id");
    let order = json!({ "downtime_id": stop, "ticket_id": ticket, "problem": "infeed jam", "priority": "high" });
    let order = ok(edge, admin, "POST", "/api/v1/maintenance/orders", order, 201).await["order"]["id"]
        .as_i64()
        .expect("order id");
    ok(
        edge,
        admin,
        "POST",
        &format!("/api/v1/maintenance/orders/{order}/start"),
        json!({}),
        200,
    )
    .await;
    let work = json!({ "note": "cleared the infeed", "minutes_spent": 25,
        "parts_used": [{ "part": "guide rail", "quantity": 1 }, { "part": "grease", "quantity": 0.25 }] });
    ok(
        edge,
        admin,
        "POST",
        &format!("/api/v1/maintenance/orders/{order}/notes"),
        work,
        201,
    )
    .await;
    Made {
        job,
        reject,
        template,
        order,
    }
}

/// More on the edge, changing what [`produce`] made: the job completes, the reject is
/// voided, the order is done, the template changes, a product is deleted, and the
/// checklist passes.
async fn produce_more(edge: &Node, admin: &str, made: &Made) {
    let Made {
        job,
        reject,
        template,
        order,
    } = made;
    ok(
        edge,
        admin,
        "POST",
        &format!("/api/v1/jobs/{job}/complete"),
        json!({}),
        200,
    )
    .await;
    let void = json!({ "reason": "counted twice" });
    ok(
        edge,
        admin,
        "POST",
        &format!("/api/v1/rejects/{reject}/void"),
        void,
        200,
    )
    .await;
    let done = json!({ "comment": "runs clean" });
    ok(
        edge,
        admin,
        "POST",
        &format!("/api/v1/maintenance/orders/{order}/complete"),
        done,
        200,
    )
    .await;
    let changed = json!({ "line": "line-a", "name": "Start-up", "blocks_job_start": false,
        "items": [{ "key": "guard", "label": "Guards closed?", "kind": "yes_no" },
                  { "key": "air", "label": "Air pressure", "kind": "number", "min": 5.5, "unit": "bar" }] });
    ok(
        edge,
        admin,
        "PUT",
        &format!("/api/v1/checklist-templates/{template}"),
        changed,
        200,
    )
    .await;
    let (status, body) = edge.call("DELETE", "/api/v1/products/lemon-1l", admin, None).await;
    assert!(status == 200 || status == 204, "delete a product: {status} {body}");
    let fill = json!({ "template": template, "answers": { "guard": true, "air": 6.1 } });
    ok(edge, admin, "POST", "/api/v1/lines/line-a/checklists", fill, 201).await;
}

/// A read-only SQLite URL of `db`.
fn sqlite(db: &Path) -> String {
    format!("sqlite://{}?mode=ro", db.display())
}

/// The database at `url`, if it can be opened (a SQLite file may not exist yet).
async fn try_open(url: &str) -> Option<AnyPool> {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new().max_connections(1).connect(url).await.ok()
}

async fn open(url: &str) -> AnyPool {
    try_open(url).await.unwrap_or_else(|| panic!("open {url}"))
}

/// The rows of `sql`, each as text (`a|b|NULL`), in the query's order: the same text on
/// SQLite and PostgreSQL.
async fn rows(pool: &AnyPool, sql: &str) -> Vec<String> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    let text = |v: Option<String>| v.unwrap_or_else(|| "NULL".into());
                    r.try_get::<Option<String>, _>(i)
                        .map(text)
                        .or_else(|_| r.try_get::<Option<i64>, _>(i).map(|v| text(v.map(|v| v.to_string()))))
                        .or_else(|_| {
                            r.try_get::<Option<f64>, _>(i)
                                .map(|v| text(v.map(|v| format!("{v:?}"))))
                        })
                        .unwrap_or_else(|e| panic!("{sql} column {i}: {e}"))
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// The one number `sql` gives (NULL: `i64::MAX`).
async fn int(pool: &AnyPool, sql: &str) -> i64 {
    let v: Option<i64> = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0);
    v.unwrap_or(i64::MAX)
}

/// What must be equal on both ends: (what, edge query, central query); the production
/// tables' too with `production`.
fn comparisons(edge_id: &str, production: bool) -> Vec<(&'static str, String, String)> {
    let same = |sql: &str| (sql.to_owned(), sql.to_owned());
    let mut out = Vec::new();
    for (what, (e, c)) in [
        (
            "state intervals",
            same(
                "SELECT machine_id, start_ms, end_ms, state, micro_stop FROM machine_state_intervals \
                  WHERE machine_id LIKE 'a-%' ORDER BY machine_id, start_ms",
            ),
        ),
        (
            "counts",
            same(
                "SELECT machine_id, minute_ms, product, total, good, ideal_ms FROM production_counts \
                  WHERE machine_id LIKE 'a-%' ORDER BY machine_id, minute_ms, product",
            ),
        ),
        (
            "downtime",
            same(
                "SELECT machine_id, line_id, start_ms, end_ms, reason, micro_stop, classified_reason \
                  FROM downtime_events WHERE line_id = 'line-a' ORDER BY machine_id, start_ms",
            ),
        ),
        (
            "tickets",
            same(
                "SELECT line_id, machine_id, category, priority, state, level, raised_at_ms, raised_by, \
                  acknowledged_at_ms, acknowledged_by, resolved_at_ms, resolved_by FROM andon_tickets ORDER BY raised_at_ms",
            ),
        ),
        (
            "ticket events",
            same(
                "SELECT t.raised_at_ms, e.at_ms, e.kind, e.level, e.actor, e.detail FROM andon_events e \
                  JOIN andon_tickets t ON t.id = e.ticket_id ORDER BY e.id",
            ),
        ),
        (
            "products",
            same(
                "SELECT code, name, ideal_cycle_ms, machine_cycles, updated_at_ms, updated_by FROM products \
                  ORDER BY code",
            ),
        ),
        (
            "jobs",
            same("SELECT line_id, product_code, target, notes, state, created_at_ms, created_by FROM jobs ORDER BY id"),
        ),
        (
            "job events",
            same(
                "SELECT j.created_at_ms, e.seq, e.at_ms, e.state, e.actor FROM job_events e \
                  JOIN jobs j ON j.id = e.job_id ORDER BY j.id, e.seq",
            ),
        ),
        (
            "rejects",
            same(
                "SELECT line_id, machine_id, defect, quantity, note, at_ms, logged_by, logged_at_ms, \
                  voided_at_ms, voided_by, void_reason FROM rejects ORDER BY id",
            ),
        ),
        (
            "checklist templates",
            same(
                "SELECT line_id, name, version, items, blocks_job_start, andon_category, created_at_ms, \
                  updated_at_ms, deleted_at_ms FROM checklist_templates ORDER BY id",
            ),
        ),
        (
            "checklists",
            same(
                "SELECT c.line_id, t.created_at_ms, c.template_version, c.shift_name, c.result, c.items, \
                  c.filled_by, c.filled_at_ms, k.raised_at_ms FROM checklists c \
                  JOIN checklist_templates t ON t.id = c.template_id \
                  LEFT JOIN andon_tickets k ON k.id = c.ticket_id ORDER BY c.id",
            ),
        ),
        (
            "handover notes",
            same(
                "SELECT line_id, shift_name, shift_start_ms, shift_end_ms, note, written_by, written_at_ms \
                  FROM handover_notes ORDER BY id",
            ),
        ),
        (
            "maintenance orders",
            same(
                "SELECT o.machine_id, o.line_id, o.problem, o.priority, o.state, d.start_ms, k.raised_at_ms, \
                  o.created_at_ms, o.started_at_ms, o.completed_at_ms, o.minutes_spent FROM maintenance_orders o \
                  LEFT JOIN downtime_events d ON d.id = o.downtime_id \
                  LEFT JOIN andon_tickets k ON k.id = o.ticket_id ORDER BY o.id",
            ),
        ),
        (
            "maintenance history",
            same(
                "SELECT o.created_at_ms, e.at_ms, e.kind, e.actor, e.detail FROM maintenance_order_events e \
                  JOIN maintenance_orders o ON o.id = e.order_id ORDER BY e.id",
            ),
        ),
        (
            "maintenance notes and parts",
            same(
                "SELECT o.created_at_ms, n.at_ms, n.author, n.note, n.minutes_spent, p.part, p.quantity \
                  FROM maintenance_parts p JOIN maintenance_notes n ON n.id = p.note_id \
                  JOIN maintenance_orders o ON o.id = p.order_id ORDER BY p.id",
            ),
        ),
        (
            "audit",
            (
                "SELECT at_ms, actor, action, target, outcome, details FROM audit_log ORDER BY id".to_owned(),
                format!(
                    "SELECT at_ms, actor, action, target, outcome, details FROM audit_log \
                     WHERE source LIKE 'edge:{edge_id}%' ORDER BY id"
                ),
            ),
        ),
    ] {
        let of_production = !matches!(
            what,
            "state intervals" | "counts" | "downtime" | "tickets" | "ticket events" | "audit"
        );
        if production || !of_production {
            out.push((what, e, c));
        }
    }
    out
}

/// Waits until the edge's outbox is empty and the central's tables equal the edge's (the
/// production tables' too with `production`), or fails showing the first difference.
async fn until_forwarded(edge: &Node, admin: &str, central_db: &str, edge_id: &str, production: bool) {
    let mut last = String::new();
    for _ in 0..400 {
        let (_, status) = edge.call("GET", "/api/v1/forward/status", admin, None).await;
        let central = match status["outbox"]["queued"] == 0 {
            true => try_open(central_db).await,
            false => None,
        };
        if let Some(c) = central {
            let e = open(&sqlite(&edge.db())).await;
            let mut diff = None;
            for (what, qe, qc) in comparisons(edge_id, production) {
                let (re, rc) = (rows(&e, &qe).await, rows(&c, &qc).await);
                assert!(!re.is_empty(), "the edge recorded {what}");
                if re != rc {
                    diff = Some(format!("{what}: edge {re:#?}\ncentral {rc:#?}"));
                    break;
                }
            }
            e.close().await;
            c.close().await;
            match diff {
                None => return,
                Some(d) => last = d,
            }
        } else {
            last = format!("outbox: {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the central did not catch up with the edge: {last}\nedge log:\n{}",
        edge.log()
    );
}

/// nginx with deploy/nginx/ms5.conf, TLS on `https` in front of MS5 on `upstream`.
fn nginx(nginx: &Path, dir: &Path, upstream: u16, https: u16) -> Proc {
    std::fs::write(dir.join("ms5.conf"), site_config(dir, upstream, https, free_port())).expect("site");
    std::fs::write(dir.join("nginx.conf"), main_config(dir)).expect("nginx.conf");
    Proc(
        Command::new(nginx)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx"),
    )
}

async fn wait_for_port(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {port}");
}

/// An HTTPS client that trusts only the test CA.
fn https_client(ca_pem: &Path) -> awc::Client {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca_pem).expect("ca.pem") {
        roots.add(c.expect("certificate")).expect("the test CA");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    awc::Client::builder()
        .connector(awc::Connector::new().rustls_0_23(Arc::new(config)))
        .timeout(Duration::from_secs(20))
        .finish()
}

async fn post_forward(client: &awc::Client, url: &str, token: &str, body: &Value) -> (u16, Value) {
    let mut res = client
        .post(format!("{url}/api/v1/forward"))
        .bearer_auth(token)
        .send_json(body)
        .await
        .expect("post forward");
    let bytes = res.body().limit(16 << 20).await.expect("body");
    (
        res.status().as_u16(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[actix_web::test]
async fn every_record_reaches_the_central_exactly_once_and_in_order_after_it_was_down() {
    exactly_once_in_order(None).await;
}

#[actix_web::test]
async fn every_record_reaches_a_central_on_postgresql_exactly_once_and_in_order() {
    let Some(server) = postgres_server() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let url = postgres_database(&server, &format!("forward::{}", dir.path().display())).await;
    exactly_once_in_order(Some(url)).await;
}

/// The edge records while the central is down, twice; the central (on `central_store`, or
/// SQLite) ends up with every record once, in order, and tables equal to the edge's.
async fn exactly_once_in_order(central_store: Option<String>) {
    let Some(nginx_bin) = require(find("nginx", "MS5_NGINX", None), "nginx") else {
        return;
    };
    let Some(openssl) = require(find("openssl", "MS5_OPENSSL", None), "openssl") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let tls = tmp.path().join("tls");
    std::fs::create_dir_all(tls.join("cache")).expect("tls dir");
    certificates(&openssl, &tls);
    let mut central_env = vec![("MS5__AUTH__FORWARD_TOKEN", FORWARD_TOKEN.to_owned())];
    if let Some(url) = &central_store {
        central_env.push(("MS5__STORE__URL", url.clone()));
    }
    let central = Node::new(
        &tmp.path().join("central"),
        &plant(Some("edge-1"), Some("edge-1")),
        &central_env,
    );
    let central_db = central_store.unwrap_or_else(|| sqlite(&central.db()));
    let https = free_port();
    let _proxy = nginx(&nginx_bin, &tls, central.port, https);
    wait_for_port(https).await;
    let central_url = format!("https://localhost:{https}");
    let edge = Node::new(
        &tmp.path().join("edge"),
        &plant(None, None),
        &[
            ("MS5__AUTH__INGEST_TOKEN", INGEST_TOKEN.into()),
            ("MS5__FORWARD__URL", central_url.clone()),
            ("MS5__FORWARD__EDGE_ID", "edge-1".into()),
            ("MS5__FORWARD__TOKEN", FORWARD_TOKEN.into()),
            ("MS5__FORWARD__CA_FILE", tls.join("ca.pem").display().to_string()),
            ("MS5__FORWARD__BATCH_SIZE", "7".into()),
            ("MS5__FORWARD__POLL", "50ms".into()),
            ("MS5__FORWARD__BACKOFF_BASE", "50ms".into()),
            ("MS5__FORWARD__BACKOFF_MAX", "200ms".into()),
        ],
    );
    // The account is made while the edge serves (and forwards): its audit entry is queued too.
    let _edge = edge.serve().await;
    edge.add_admin();
    let admin = edge.login().await;

    // The central is down (nginx answers 502): the edge records and queues.
    let t0 = common::now_ms() - 20 * 60_000;
    feed(&edge, &admin, t0).await;
    let made = produce(&edge, &admin).await;
    for _ in 0..200 {
        if edge.metric("ms5_forward_request_errors_total").await >= 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        edge.metric("ms5_forward_request_errors_total").await >= 2.0,
        "the edge tried the central while it was down"
    );
    let (_, status) = edge.call("GET", "/api/v1/forward/status", &admin, None).await;
    assert!(
        status["outbox"]["queued"].as_i64() > Some(20),
        "records wait for the central: {status}"
    );
    assert_eq!(edge.metric("ms5_forward_acknowledged_total").await, 0.0);

    // The central comes up: everything arrives, and the tables agree.
    let central_proc = central.serve().await;
    until_forwarded(&edge, &admin, &central_db, "edge-1", true).await;
    // The job forwarded runs on the central's board too: the filler makes its product.
    central.add_admin();
    let central_admin = central.login().await;
    let (_, filler) = central
        .call("GET", "/api/v1/machines/a-filler", &central_admin, None)
        .await;
    assert_eq!(filler["product"], "Cola 2 l", "{filler}");
    let (_, jobs) = central
        .call("GET", "/api/v1/jobs?line=line-a", &central_admin, None)
        .await;
    assert_eq!(jobs["jobs"][0]["state"], "running", "{jobs}");

    // The central stops; the edge records on; the central comes back on the same data.
    drop(central_proc);
    let errors = edge.metric("ms5_forward_request_errors_total").await;
    feed(&edge, &admin, t0 + 12 * 60_000).await;
    produce_more(&edge, &admin, &made).await;
    for _ in 0..200 {
        if edge.metric("ms5_forward_request_errors_total").await >= errors + 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, status) = edge.call("GET", "/api/v1/forward/status", &admin, None).await;
    assert!(
        status["outbox"]["queued"].as_i64() > Some(20),
        "records wait again: {status}"
    );
    let central_proc = central.serve().await;
    until_forwarded(&edge, &admin, &central_db, "edge-1", true).await;

    // Exactly once: every seq the edge ever queued was applied once, none twice, none missing.
    let e = open(&sqlite(&edge.db())).await;
    let queued = int(&e, "SELECT seq FROM sqlite_sequence WHERE name = 'forward_outbox'").await;
    let c = open(&central_db).await;
    let applied = rows(&c, "SELECT seq FROM forward_applied WHERE edge = 'edge-1' ORDER BY seq").await;
    let want: Vec<String> = (1..=queued).map(|s| s.to_string()).collect();
    assert_eq!(applied, want, "each of the {queued} records applied exactly once");
    assert_eq!(edge.metric("ms5_forward_acknowledged_total").await, queued as f64);
    // In order: within each stream, records were applied in the order they were recorded.
    let order = rows(
        &c,
        "SELECT stream, seq FROM forward_applied WHERE edge = 'edge-1' ORDER BY id",
    )
    .await;
    let mut last = std::collections::HashMap::<String, i64>::new();
    for r in &order {
        let (stream, seq) = r.split_once('|').expect("stream|seq");
        let seq: i64 = seq.parse().expect("seq");
        let before = last.insert(stream.to_owned(), seq);
        assert!(before < Some(seq), "stream {stream}: {seq} applied after {before:?}");
    }
    for stream in [
        "a-filler",
        "andon",
        "audit",
        "jobs",
        "rejects",
        "checklists",
        "maintenance",
    ] {
        assert!(last.contains_key(stream), "records of stream {stream} were applied");
    }

    // The edge's lines are the central's own: the downtime list and span OEE read them.
    let central_admin = central.login().await;
    let (status, downtime) = central
        .call("GET", "/api/v1/downtime?line=line-a", &central_admin, None)
        .await;
    assert_eq!(status, 200, "{downtime}");
    assert!(downtime.to_string().contains("jam"), "the jam forwarded: {downtime}");
    // …and so does the live board: the central's filler counts what the edge counted, read
    // from the records as they came (not only after a restart).
    let (_, on_edge) = edge.call("GET", "/api/v1/machines/a-filler", &admin, None).await;
    let parts = |m: &Value| {
        (
            m["windows"]["today"]["total"].clone(),
            m["windows"]["today"]["good"].clone(),
        )
    };
    let want = parts(&on_edge);
    assert!(want.0.as_i64().is_some_and(|n| n > 0), "{on_edge}");
    let mut shown = (Value::Null, Value::Null);
    for _ in 0..100 {
        let (_, on_central) = central
            .call("GET", "/api/v1/machines/a-filler", &central_admin, None)
            .await;
        shown = parts(&on_central);
        if shown == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        shown, want,
        "the central's live filler shows the edge's parts, rejects and voids included"
    );
    // The edge runs the line's tickets: none is raised for it on the central.
    let raise = json!({ "line": "line-a", "category": "quality", "priority": "low", "description": "here" });
    let (status, body) = central
        .call("POST", "/api/v1/andon/tickets", &central_admin, Some(&raise))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("run by edge `edge-1`"), "{body}");
    // …nor any production record: the edge writes them, and nothing goes back to it.
    let (_, jobs) = central
        .call("GET", "/api/v1/jobs?line=line-a", &central_admin, None)
        .await;
    let job = jobs["jobs"][0]["id"].as_i64().expect("the forwarded job");
    let (_, orders) = central
        .call("GET", "/api/v1/maintenance/orders?line=line-a", &central_admin, None)
        .await;
    let order = orders["orders"][0]["id"].as_i64().expect("the forwarded order");
    let writes = [
        (
            "POST",
            "/api/v1/jobs".to_owned(),
            json!({ "line": "line-a", "product": "cola-2l", "target": 5 }),
            "jobs",
        ),
        ("POST", format!("/api/v1/jobs/{job}/cancel"), json!({}), "jobs"),
        (
            "POST",
            "/api/v1/rejects".to_owned(),
            json!({ "machine": "a-filler", "defect": "other", "quantity": 1 }),
            "rejects",
        ),
        (
            "POST",
            "/api/v1/checklist-templates".to_owned(),
            json!({ "line": "line-a", "name": "x", "blocks_job_start": false,
            "items": [{ "key": "k", "label": "k?", "kind": "yes_no" }] }),
            "checklist templates",
        ),
        (
            "POST",
            "/api/v1/lines/line-a/handover".to_owned(),
            json!({ "note": "hello" }),
            "handover notes",
        ),
        (
            "POST",
            "/api/v1/maintenance/orders".to_owned(),
            json!({ "machine": "a-filler", "problem": "x", "priority": "low" }),
            "maintenance orders",
        ),
        (
            "POST",
            format!("/api/v1/maintenance/orders/{order}/notes"),
            json!({ "note": "x" }),
            "maintenance orders",
        ),
    ];
    for (method, path, body, what) in writes {
        let (status, answer) = central.call(method, &path, &central_admin, Some(&body)).await;
        assert_eq!(status, 409, "{method} {path}: {answer}");
        let want = format!("line `line-a` is run by edge `edge-1`: write its {what} there");
        assert_eq!(answer["error"]["message"], json!(want), "{method} {path}");
    }

    // A replay of applied records changes nothing: every one is a duplicate.
    let audit_rows = rows(
        &e,
        "SELECT at_ms, actor, action, target, outcome, source, details FROM audit_log ORDER BY id",
    )
    .await;
    let audit_seqs = rows(
        &c,
        "SELECT seq FROM forward_applied WHERE edge = 'edge-1' AND stream = 'audit' ORDER BY seq",
    )
    .await;
    assert_eq!(audit_rows.len(), audit_seqs.len());
    let records: Vec<Value> = audit_seqs
        .iter()
        .map(|s| {
            let seq: i64 = s.parse().expect("seq");
            json!({ "seq": seq, "kind": "audit", "stream": "audit", "payload": {
                "at_ms": 1, "actor": "replayed", "action": "x.y", "target": null, "outcome": "ok",
                "source": null, "details": null } })
        })
        .collect();
    let client = https_client(&tls.join("ca.pem"));
    let batch = json!({ "edge": "edge-1", "records": records });
    let before = int(&c, "SELECT COUNT(*) FROM audit_log").await;
    let (status, answer) = post_forward(&client, &central_url, FORWARD_TOKEN, &batch).await;
    assert_eq!(status, 200, "{answer}");
    let outcomes: Vec<&str> = answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["outcome"].as_str().unwrap_or_default())
        .collect();
    assert!(
        !outcomes.is_empty() && outcomes.iter().all(|o| *o == "duplicate"),
        "{answer}"
    );
    assert_eq!(
        int(&c, "SELECT COUNT(*) FROM audit_log").await,
        before,
        "a replay adds nothing"
    );
    // Another credential is turned away.
    let (status, _) = post_forward(&client, &central_url, INGEST_TOKEN, &batch).await;
    assert_eq!(status, 401);
    let (status, _) = post_forward(&client, &central_url, &central_admin, &batch).await;
    assert_eq!(status, 403, "an admin is not an edge");
    let (status, _) = central
        .call("GET", "/api/v1/production/lines", FORWARD_TOKEN, None)
        .await;
    assert_eq!(status, 403, "the forward token opens nothing else");
    drop(central_proc);
}

#[actix_web::test]
async fn records_the_central_refuses_go_to_quarantine_for_an_admin_to_retry_or_discard() {
    let tmp = tempfile::tempdir().expect("tmp");
    // The central gives line-a to this edge, but line-q to nobody: its records are refused.
    let central = Node::new(
        &tmp.path().join("central"),
        &plant(Some("edge-2"), None),
        &[("MS5__AUTH__FORWARD_TOKEN", FORWARD_TOKEN.into())],
    );
    let _central = central.serve().await;
    let edge = Node::new(
        &tmp.path().join("edge"),
        &plant(None, None),
        &[
            ("MS5__AUTH__INGEST_TOKEN", INGEST_TOKEN.into()),
            ("MS5__FORWARD__URL", central.base()),
            ("MS5__FORWARD__EDGE_ID", "edge-2".into()),
            ("MS5__FORWARD__TOKEN", FORWARD_TOKEN.into()),
            ("MS5__FORWARD__POLL", "50ms".into()),
            ("MS5__FORWARD__BACKOFF_BASE", "20ms".into()),
            ("MS5__FORWARD__BACKOFF_MAX", "100ms".into()),
            ("MS5__FORWARD__QUARANTINE_AFTER", "2".into()),
        ],
    );
    // The account is made while the edge serves (and forwards): its audit entry is queued too.
    let _edge = edge.serve().await;
    edge.add_admin();
    let admin = edge.login().await;
    feed(&edge, &admin, common::now_ms() - 20 * 60_000).await;

    // line-a arrives whole; line-q's records are all in quarantine, none queued.
    until_forwarded(&edge, &admin, &sqlite(&central.db()), "edge-2", false).await;
    let (status, q) = edge.call("GET", "/api/v1/forward/quarantine", &admin, None).await;
    assert_eq!(status, 200, "{q}");
    let list = q["quarantine"].as_array().expect("quarantine").clone();
    assert!(!list.is_empty(), "line-q's records are quarantined");
    for r in &list {
        assert_eq!(r["stream"], "q-press", "{r}");
        assert_eq!(r["refusals"], 2, "{r}");
        let why = r["last_error"].as_str().unwrap_or_default();
        assert!(why.contains("line `line-q` is not given to edge `edge-2`"), "{why}");
    }
    assert_eq!(edge.metric("ms5_forward_quarantined_records").await, list.len() as f64);
    assert!(edge.metric("ms5_forward_refused_total").await >= 2.0 * list.len() as f64);
    let c = open(&sqlite(&central.db())).await;
    assert_eq!(
        int(
            &c,
            "SELECT COUNT(*) FROM machine_state_intervals WHERE machine_id = 'q-press'"
        )
        .await,
        0,
        "nothing of a refused record was applied"
    );

    // Discard one: gone. Retry another: refused twice more, back in quarantine.
    let first = list[0]["seq"].as_i64().expect("seq");
    let second = list[1]["seq"].as_i64().expect("seq");
    let (status, _) = edge
        .call("DELETE", &format!("/api/v1/forward/quarantine/{first}"), &admin, None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = edge
        .call("DELETE", &format!("/api/v1/forward/quarantine/{first}"), &admin, None)
        .await;
    assert_eq!(status, 404, "discarded already");
    let refused_before = edge.metric("ms5_forward_refused_total").await;
    let (status, body) = edge
        .call(
            "POST",
            &format!("/api/v1/forward/quarantine/{second}/retry"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut back = false;
    for _ in 0..200 {
        let (_, q) = edge.call("GET", "/api/v1/forward/quarantine", &admin, None).await;
        let seqs: Vec<i64> = q["quarantine"]
            .as_array()
            .expect("quarantine")
            .iter()
            .filter_map(|r| r["seq"].as_i64())
            .collect();
        assert!(!seqs.contains(&first));
        if seqs.contains(&second) && edge.metric("ms5_forward_refused_total").await >= refused_before + 2.0 {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(back, "the retried record was sent, refused twice and quarantined again");
    // Both admin writes are in the edge's audit log.
    let e = open(&sqlite(&edge.db())).await;
    let actions = rows(
        &e,
        "SELECT action, target FROM audit_log WHERE action LIKE 'forward.%' ORDER BY id",
    )
    .await;
    assert_eq!(
        actions,
        vec![format!("forward.discard|{first}"), format!("forward.retry|{second}")]
    );
}

#[actix_web::test]
async fn a_full_outbox_drops_the_oldest_telemetry_first_and_says_so() {
    let tmp = tempfile::tempdir().expect("tmp");
    // Nobody listens at the central's address: everything stays queued.
    let edge = Node::new(
        &tmp.path().join("edge"),
        &plant(None, None),
        &[
            ("MS5__AUTH__INGEST_TOKEN", INGEST_TOKEN.into()),
            ("MS5__FORWARD__URL", format!("http://127.0.0.1:{}", free_port())),
            ("MS5__FORWARD__EDGE_ID", "edge-3".into()),
            ("MS5__FORWARD__TOKEN", FORWARD_TOKEN.into()),
            ("MS5__FORWARD__BATCH_SIZE", "5".into()),
            ("MS5__FORWARD__MAX_ROWS", "30".into()),
            ("MS5__FORWARD__BACKOFF_BASE", "20ms".into()),
            ("MS5__FORWARD__BACKOFF_MAX", "50ms".into()),
        ],
    );
    // The account is made while the edge serves (and forwards): its audit entry is queued too.
    let _edge = edge.serve().await;
    edge.add_admin();
    let admin = edge.login().await;
    feed(&edge, &admin, common::now_ms() - 20 * 60_000).await;
    let mut dropped = 0.0;
    for _ in 0..200 {
        let (_, status) = edge.call("GET", "/api/v1/forward/status", &admin, None).await;
        dropped = edge.metric("ms5_forward_dropped_total").await;
        if dropped > 0.0 && status["outbox"]["rows"].as_i64() <= Some(30) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(dropped > 0.0, "records were dropped");
    let e = open(&sqlite(&edge.db())).await;
    let kinds = rows(
        &e,
        "SELECT kind, COUNT(*) FROM forward_outbox GROUP BY kind ORDER BY kind",
    )
    .await;
    let held = int(&e, "SELECT COUNT(*) FROM forward_outbox").await;
    assert!(held <= 30, "within the bound: {kinds:?}");
    // Tickets, their events, downtime and audit entries were all kept.
    for (kind, table) in [
        ("downtime", "downtime_events"),
        ("ticket", "andon_tickets"),
        ("ticket_event", "andon_events"),
        ("audit", "audit_log"),
    ] {
        let in_table = int(&e, &format!("SELECT COUNT(*) FROM {table}")).await;
        let queued = int(
            &e,
            &format!("SELECT COUNT(*) FROM forward_outbox WHERE kind = '{kind}'"),
        )
        .await;
        assert!(
            in_table > 0 && queued >= in_table,
            "{kind}: every row still queued ({queued} vs {in_table})"
        );
    }
    // What was dropped was the oldest telemetry: every record missing from the outbox is
    // older than every telemetry record still in it.
    let last = int(&e, "SELECT seq FROM sqlite_sequence WHERE name = 'forward_outbox'").await;
    let kept: std::collections::HashSet<i64> = rows(&e, "SELECT seq FROM forward_outbox")
        .await
        .iter()
        .map(|s| s.parse().expect("seq"))
        .collect();
    let newest_dropped = (1..=last)
        .filter(|s| !kept.contains(s))
        .max()
        .expect("a dropped record");
    let oldest_telemetry = int(
        &e,
        "SELECT MIN(seq) FROM forward_outbox WHERE kind IN ('interval', 'counts', 'sample')",
    )
    .await;
    assert!(
        newest_dropped < oldest_telemetry,
        "dropped up to {newest_dropped}, telemetry kept from {oldest_telemetry}"
    );
    assert!(
        edge.log().contains("oldest telemetry dropped"),
        "the log says so:\n{}",
        edge.log()
    );
}
