//! Assigning Andon tickets against a real server with a manual clock: assign, reassign and
//! unassign with their events and audit entries, escalation going on regardless, closed
//! tickets and bad assignees, the `andon` channel, a restart, and the list of a line's people.

mod common;

use common::pager::PagerServer;
use common::ws::{connect_to, next_json, send};
use common::*;
use ms5::clock::Clock;
use ms5::domain::access::Role;
use serde_json::{Value, json};

const T0: i64 = DAY + 7 * 60 * MIN;

async fn andon_app(dir: &std::path::Path, pager: &PagerServer, now: i64) -> TestApp {
    spawn_app(Spawn {
        plant: &andon_plant(&pager.base),
        dir,
        clock: Clock::manual(now),
        simulator: false,
        settings: json!({}),
    })
    .await
}

/// Raises a ticket on line-a as `anna` and makes the people tickets go to.
async fn setup(app: &TestApp) -> i64 {
    let now = app.clock.now_ms();
    make_user(&app.store, "olga", Role::Operator, Some(vec!["line-a".into()]), now).await;
    make_user(&app.store, "pete", Role::Operator, None, now).await;
    make_user(&app.store, "bert", Role::Operator, Some(vec!["line-b".into()]), now).await;
    let anna = app.token_for("anna").await;
    let (status, t) = app
        .post_as(
            "/api/v1/andon/tickets",
            &anna,
            &json!({"line": "line-a", "machine": "a-filler", "category": "maintenance", "priority": "high",
                    "description": "valve fault"}),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    t["id"].as_i64().expect("id")
}

async fn assign(app: &TestApp, id: i64, by: &str, body: &Value) -> (u16, Value) {
    let token = app.token_for(by).await;
    app.post_as(&format!("/api/v1/andon/tickets/{id}/assign"), &token, body)
        .await
}

#[actix_web::test]
async fn a_supervisor_assigns_reassigns_and_unassigns_and_each_change_is_an_event_and_an_audit_entry() {
    let dir = temp();
    let pager = PagerServer::start();
    let app = andon_app(dir.path(), &pager, T0).await;
    let id = setup(&app).await;

    let (_, before) = app.get(&format!("/api/v1/andon/tickets/{id}")).await;
    assert_eq!(before["ticket"]["assignee"], Value::Null);

    app.clock.set(T0 + MIN);
    let (status, t) = assign(&app, id, "ben", &json!({"assignee": "olga"})).await;
    assert_eq!((status, t["assignee"].clone()), (200, json!("olga")), "{t}");
    // escalation is where it was: L1 still due 5 min after the raise
    assert_eq!(t["next_escalation"], before["ticket"]["next_escalation"]);
    assert_eq!(t["next_escalation"]["at"], json!(rfc3339(T0 + 5 * MIN)));

    app.clock.set(T0 + 2 * MIN);
    let (status, t) = assign(&app, id, "ben", &json!({"assignee": "pete"})).await;
    assert_eq!((status, t["assignee"].clone()), (200, json!("pete")), "{t}");
    let (_, list) = app.get("/api/v1/andon/tickets?line=line-a").await;
    assert_eq!(list["tickets"][0]["assignee"], json!("pete"));

    // reassigning did not reset escalation: L1 fires at T0 + 5 min
    app.clock.set(T0 + 5 * MIN);
    app.plant.tick().await;
    pager.wait_for("/ok/generic", 1).await;

    // acknowledged tickets can be reassigned too; null unassigns
    let ben = app.token_for("ben").await;
    let (status, _) = app
        .post_as(&format!("/api/v1/andon/tickets/{id}/acknowledge"), &ben, &json!({}))
        .await;
    assert_eq!(status, 200);
    app.clock.set(T0 + 6 * MIN);
    let (status, t) = assign(&app, id, "ben", &json!({"assignee": null})).await;
    assert_eq!(
        (status, t["assignee"].clone(), t["state"].clone()),
        (200, Value::Null, json!("acknowledged"))
    );
    assert_eq!(t["level"], json!(1));

    let (_, detail) = app.get(&format!("/api/v1/andon/tickets/{id}")).await;
    let events: Vec<_> = detail["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"].as_str().is_some_and(|k| k.contains("assigned")))
        .map(|e| {
            (
                e["kind"].clone(),
                e["actor"].clone(),
                e["detail"].clone(),
                e["at"].clone(),
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            (json!("assigned"), json!("ben"), json!("olga"), json!(rfc3339(T0 + MIN))),
            (
                json!("assigned"),
                json!("ben"),
                json!("pete"),
                json!(rfc3339(T0 + 2 * MIN))
            ),
            (
                json!("unassigned"),
                json!("ben"),
                Value::Null,
                json!(rfc3339(T0 + 6 * MIN))
            ),
        ]
    );

    let (status, audit) = app.get("/api/v1/audit?limit=100&action=andon.assign").await;
    assert_eq!(status, 200, "{audit}");
    let mut entries: Vec<_> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["actor"].clone(),
                e["target"].clone(),
                e["details"]["assignee"].clone(),
            )
        })
        .collect();
    entries.sort_by_key(|e| e.2.to_string());
    // sorted by the assignee's JSON text: "olga", "pete", null
    assert_eq!(
        entries,
        vec![
            (json!("ben"), json!(id.to_string()), json!("olga")),
            (json!("ben"), json!(id.to_string()), json!("pete")),
            (json!("ben"), json!(id.to_string()), Value::Null),
        ]
    );
}

#[actix_web::test]
async fn closed_tickets_bad_assignees_and_other_lines_are_refused_and_change_nothing() {
    let dir = temp();
    let pager = PagerServer::start();
    let app = andon_app(dir.path(), &pager, T0).await;
    let id = setup(&app).await;
    let admin = app.admin();
    let (status, _) = app
        .call(
            "PATCH",
            "/api/v1/users/pete",
            Some(&admin),
            Some(&json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, 200);

    // (body, why) → 400 naming `assignee`
    let bad = [
        (json!({"assignee": "nobody"}), "unknown user"),
        (json!({"assignee": "pete"}), "disabled account"),
        (json!({"assignee": "bert"}), "no access to line-a"),
        (json!({}), "field missing"),
    ];
    for (body, why) in bad {
        let (status, err) = assign(&app, id, "ben", &body).await;
        assert_eq!(status, 400, "{why}: {err}");
        assert_eq!(err["error"]["code"], json!("bad_request"), "{why}");
        assert_eq!(err["error"]["details"]["field"], json!("assignee"), "{why}: {err}");
    }
    let (status, err) = assign(&app, id, "ben", &json!({"assignee": "olga", "extra": 1})).await;
    assert_eq!(status, 400, "unknown field: {err}");

    // a supervisor of line-b only may not assign line-a's tickets
    let lineb = app
        .token_with("sue", Role::Supervisor, Some(vec!["line-b".into()]))
        .await;
    let (status, err) = app
        .post_as(
            &format!("/api/v1/andon/tickets/{id}/assign"),
            &lineb,
            &json!({"assignee": "olga"}),
        )
        .await;
    assert_eq!((status, err["error"]["code"].clone()), (403, json!("forbidden")));

    // unknown ticket
    let (status, _) = assign(&app, 999_999, "ben", &json!({"assignee": "olga"})).await;
    assert_eq!(status, 404);

    let (_, t) = app.get(&format!("/api/v1/andon/tickets/{id}")).await;
    assert_eq!(t["ticket"]["assignee"], Value::Null, "nothing stored");

    // resolved: 409 in the one error shape, the assignee it ended with stays
    assert_eq!(assign(&app, id, "ben", &json!({"assignee": "olga"})).await.0, 200);
    let ben = app.token_for("ben").await;
    let (status, _) = app
        .post_as(&format!("/api/v1/andon/tickets/{id}/resolve"), &ben, &json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, err) = assign(&app, id, "ben", &json!({"assignee": null})).await;
    assert_eq!(
        (status, err["error"]["code"].clone()),
        (409, json!("conflict")),
        "{err}"
    );
    let (_, t) = app.get(&format!("/api/v1/andon/tickets/{id}")).await;
    assert_eq!(t["ticket"]["assignee"], json!("olga"));
}

#[actix_web::test]
async fn the_andon_channel_pushes_the_assignee_at_once() {
    let dir = temp();
    let pager = PagerServer::start();
    let app = andon_app(dir.path(), &pager, T0).await;
    let id = setup(&app).await;
    let mut ws = connect_to(&app, &app.token).await;
    send(&mut ws, r#"{"type":"subscribe","channel":"andon"}"#).await;
    let snapshot = next_json(&mut ws).await;
    assert_eq!(snapshot["data"]["tickets"][0]["assignee"], Value::Null);
    assert_eq!(assign(&app, id, "ben", &json!({"assignee": "olga"})).await.0, 200);
    let update = next_json(&mut ws).await;
    assert_eq!(
        (
            update["type"].clone(),
            update["data"]["id"].clone(),
            update["data"]["assignee"].clone()
        ),
        (json!("update"), json!(id), json!("olga"))
    );
    assert_eq!(assign(&app, id, "ben", &json!({"assignee": null})).await.0, 200);
    let update = next_json(&mut ws).await;
    assert_eq!(
        (update["data"]["id"].clone(), update["data"]["assignee"].clone()),
        (json!(id), Value::Null)
    );
}

#[actix_web::test]
async fn the_assignee_survives_a_restart_and_can_still_be_changed() {
    let dir = temp();
    let pager = PagerServer::start();
    let first = andon_app(dir.path(), &pager, T0).await;
    let id = setup(&first).await;
    assert_eq!(assign(&first, id, "ben", &json!({"assignee": "olga"})).await.0, 200);
    first.stopper.stop().await;

    let second = andon_app(dir.path(), &pager, T0 + MIN).await;
    let (_, t) = second.get(&format!("/api/v1/andon/tickets/{id}")).await;
    assert_eq!(t["ticket"]["assignee"], json!("olga"));
    // the restored ticket actor publishes it too
    let mut ws = connect_to(&second, &second.token).await;
    send(&mut ws, r#"{"type":"subscribe","channel":"andon:line-a"}"#).await;
    let snapshot = next_json(&mut ws).await;
    assert_eq!(
        (
            snapshot["data"]["tickets"][0]["id"].clone(),
            snapshot["data"]["tickets"][0]["assignee"].clone()
        ),
        (json!(id), json!("olga"))
    );
    let (status, t) = assign(&second, id, "ben", &json!({"assignee": "pete"})).await;
    assert_eq!((status, t["assignee"].clone()), (200, json!("pete")));
}

#[actix_web::test]
async fn the_assignees_of_a_line_are_its_active_accounts_with_access() {
    let dir = temp();
    let pager = PagerServer::start();
    let app = andon_app(dir.path(), &pager, T0).await;
    setup(&app).await;
    let admin = app.admin();
    app.call(
        "PATCH",
        "/api/v1/users/pete",
        Some(&admin),
        Some(&json!({"disabled": true})),
    )
    .await;
    let ben = app.token_for("ben").await;
    let names = |v: &Value| -> Vec<String> {
        v["assignees"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["username"].as_str().map(str::to_owned))
            .collect()
    };
    let (status, a) = app.get_as("/api/v1/andon/assignees?line=line-a", &ben).await;
    assert_eq!(status, 200, "{a}");
    let line_a = names(&a);
    // olga (line-a), anna and ben (supervisors, all lines) yes; pete (disabled), bert (line-b) no
    for yes in ["olga", "anna", "ben"] {
        assert!(line_a.iter().any(|n| n == yes), "{yes} missing from {line_a:?}");
    }
    for no in ["pete", "bert"] {
        assert!(!line_a.iter().any(|n| n == no), "{no} listed in {line_a:?}");
    }
    let olga = a["assignees"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["username"] == json!("olga"))
        .cloned();
    assert_eq!(olga, Some(json!({"username": "olga", "role": "operator"})));
    let mut sorted = line_a.clone();
    sorted.sort();
    assert_eq!(line_a, sorted, "by username");

    assert_eq!(app.get_as("/api/v1/andon/assignees?line=nope", &ben).await.0, 404);
    assert_eq!(app.get_as("/api/v1/andon/assignees", &ben).await.0, 400);
    let lineb = app
        .token_with("sue", Role::Supervisor, Some(vec!["line-b".into()]))
        .await;
    assert_eq!(app.get_as("/api/v1/andon/assignees?line=line-a", &lineb).await.0, 403);
}
