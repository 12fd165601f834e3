//! Shift-start checklists and handover notes against a real server with a manual clock:
//! template CRUD, filling (pass, fail, missing), the Andon ticket a failure raises,
//! template versions, the job-start blocker, handover across shifts and a DST night,
//! role refusals, every 400/404/409 and the audit rows.

mod common;

use common::*;
use ms5::domain::access::Role;
use serde_json::{Value, json};

/// Monday 2026-03-02 07:00 UTC: inside the test plant's `day` shift (06:00-14:00 UTC).
const T0: i64 = DAY + 7 * 60 * MIN;
const HOUR: i64 = 60 * MIN;

/// Berlin, every day: early 06-14, late 14-22, night 22-06 (7 h on 2026-03-28/29).
const BERLIN_PLANT: &str = r#"
timezone = "Europe/Berlin"

[[shifts]]
name = "early"
start = "06:00"
end = "14:00"

[[shifts]]
name = "late"
start = "14:00"
end = "22:00"

[[shifts]]
name = "night"
start = "22:00"
end = "06:00"
crosses_midnight = true

[[lines]]
id = "line-a"
name = "Line A"

[[lines.machines]]
id = "a-filler"
name = "Filler"
ideal_cycle_time = "1s"
tags = { state = { tag = "A.Filler.State" }, total = { tag = "A.Filler.Total", width = 32 } }
"#;

/// guard (yes/no), pressure (4-6 bar), note (optional text).
fn template(line: &str, name: &str, blocks: bool, andon: Option<Value>) -> Value {
    json!({
        "line": line, "name": name, "blocks_job_start": blocks, "andon_on_failure": andon,
        "items": [
            {"key": "guard", "label": "Guard closed?", "kind": "yes_no", "required": true},
            {"key": "pressure", "label": "Air pressure", "kind": "number", "min": 4, "max": 6, "unit": "bar", "required": true},
            {"key": "note", "label": "Anything else?", "kind": "text", "required": false}
        ]
    })
}

async fn create(app: &TestApp, body: &Value) -> Value {
    let (status, t) = app.post("/api/v1/checklist-templates", body).await;
    assert_eq!(status, 201, "{t}");
    t
}

async fn fill(app: &TestApp, line: &str, template: i64, answers: Value) -> (u16, Value) {
    let op = app.token_with("olga", Role::Operator, None).await;
    let body = json!({ "template": template, "answers": answers });
    app.post_as(&format!("/api/v1/lines/{line}/checklists"), &op, &body)
        .await
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

/// Audit actions starting with `prefix`, oldest first, as (action, actor, target).
async fn audit(app: &TestApp, prefix: &str) -> Vec<(String, String, String)> {
    let (status, page) = app.get(&format!("/api/v1/audit?limit=1000&action={prefix}")).await;
    assert_eq!(status, 200, "{page}");
    let mut rows: Vec<_> = page["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("").to_owned();
            (s("action"), s("actor"), s("target"))
        })
        .collect();
    rows.reverse();
    rows
}

fn error_field(body: &Value) -> &str {
    body["error"]["details"]["field"].as_str().unwrap_or("")
}

#[actix_web::test]
async fn admins_create_read_change_and_delete_templates_and_others_only_read() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &two_line_plant(), T0, json!({})).await;
    let t = create(&app, &template("line-a", "Start-up", true, None)).await;
    let tid = id(&t);
    assert_eq!(
        (t["version"].as_i64(), t["created_by"].as_str()),
        (Some(1), Some("root"))
    );
    assert_eq!(
        t["items"][1],
        json!({"key": "pressure", "label": "Air pressure", "kind": "number",
        "min": 4.0, "max": 6.0, "unit": "bar", "required": true})
    );
    create(&app, &template("line-b", "Press start", false, None)).await;

    // Reads: everyone who sees the line, a display token included.
    let (_, display) = app
        .post("/api/v1/display-tokens", &json!({"name": "wall", "lines": ["line-a"]}))
        .await;
    let display = display["token"].as_str().expect("token").to_owned();
    let (status, list) = app.get_as("/api/v1/checklist-templates", &display).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list["templates"].as_array().map(Vec::len),
        Some(1),
        "display sees line-a only"
    );
    let (status, one) = app
        .get_as(&format!("/api/v1/checklist-templates/{tid}"), &display)
        .await;
    assert_eq!((status, one["name"].as_str()), (200, Some("Start-up")));
    let (status, list) = app.get("/api/v1/checklist-templates?line=line-b").await;
    assert_eq!(
        (status, list["templates"][0]["name"].as_str()),
        (200, Some("Press start"))
    );
    let b_only = app
        .token_with("bert", Role::Operator, Some(vec!["line-b".into()]))
        .await;
    let (status, _) = app.get_as(&format!("/api/v1/checklist-templates/{tid}"), &b_only).await;
    assert_eq!(status, 403);

    // Writes: admins only.
    let body = template("line-a", "Start-up", true, None);
    for (name, role) in [
        ("olga", Role::Operator),
        ("sam", Role::Supervisor),
        ("erin", Role::Engineer),
    ] {
        let token = app.token_with(name, role, None).await;
        let path = format!("/api/v1/checklist-templates/{tid}");
        assert_eq!(
            app.post_as("/api/v1/checklist-templates", &token, &body).await.0,
            403,
            "{name}"
        );
        assert_eq!(app.call("PUT", &path, Some(&token), Some(&body)).await.0, 403, "{name}");
        assert_eq!(app.call("DELETE", &path, Some(&token), None).await.0, 403, "{name}");
    }

    // A second template of the same name on the line: 409; on another line it is fine.
    let (status, e) = app.post("/api/v1/checklist-templates", &body).await;
    assert_eq!((status, e["error"]["code"].as_str()), (409, Some("conflict")), "{e}");
    create(&app, &template("line-b", "Start-up", false, None)).await;

    // Change: the version goes up; the line stays.
    let mut changed = template(
        "line-a",
        "Start-up v2",
        false,
        Some(json!({"category": "safety", "priority": "critical"})),
    );
    changed["items"] = json!([{"key": "ppe", "label": "PPE on?", "kind": "yes_no"}]);
    let path = format!("/api/v1/checklist-templates/{tid}");
    let (status, t2) = app.call("PUT", &path, Some(&app.admin()), Some(&changed)).await;
    assert_eq!(status, 200, "{t2}");
    assert_eq!(
        (t2["version"].as_i64(), t2["name"].as_str()),
        (Some(2), Some("Start-up v2"))
    );
    assert_eq!(
        t2["andon_on_failure"],
        json!({"category": "safety", "priority": "critical"})
    );
    assert_eq!(t2["items"][0]["required"], json!(true), "required defaults to true");

    // Delete: gone for reads and writes, and the name is free again.
    let (status, gone) = app.call("DELETE", &path, Some(&app.admin()), None).await;
    assert_eq!((status, gone["deleted_by"].as_str()), (200, Some("root")), "{gone}");
    assert_eq!(app.get(&path).await.0, 404);
    assert_eq!(app.call("PUT", &path, Some(&app.admin()), Some(&changed)).await.0, 404);
    assert_eq!(app.call("DELETE", &path, Some(&app.admin()), None).await.0, 404);
    create(&app, &template("line-a", "Start-up v2", false, None)).await;

    let actions: Vec<_> = audit(&app, "checklist_template.")
        .await
        .into_iter()
        .map(|a| a.0)
        .collect();
    assert_eq!(
        actions,
        ["create", "create", "create", "update", "delete", "create"].map(|a| format!("checklist_template.{a}"))
    );
    assert_eq!(
        audit(&app, "checklist_template.delete").await[0],
        ("checklist_template.delete".into(), "root".into(), tid.to_string())
    );
}

#[actix_web::test]
async fn bad_templates_are_refused_naming_the_field_and_nothing_is_stored() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &two_line_plant(), T0, json!({})).await;
    let good = template("line-a", "Start-up", true, None);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    // (body, status, field named)
    let cases = [
        (with(&|b| b["name"] = json!("  ")), 400, "name"),
        (
            with(&|b| {
                if let Some(o) = b.as_object_mut() {
                    o.remove("name");
                }
            }),
            400,
            "name",
        ),
        (with(&|b| b["colour"] = json!("red")), 400, "colour"),
        (with(&|b| b["items"] = json!([])), 400, "items"),
        (with(&|b| b["items"][0]["kind"] = json!("bool")), 400, "items[0].kind"),
        (with(&|b| b["items"][0]["min"] = json!(1)), 400, "items[0].min"),
        (with(&|b| b["items"][1]["min"] = json!(7)), 400, "items[1].max"),
        (with(&|b| b["items"][2]["key"] = json!("guard")), 400, "items[2].key"),
        (with(&|b| b["items"][2]["shade"] = json!(1)), 400, "items[2].shade"),
        (with(&|b| b["blocks_job_start"] = json!("yes")), 400, "blocks_job_start"),
        (
            with(&|b| b["andon_on_failure"] = json!({"category": "maintenance", "priority": "high"})),
            400,
            "andon_on_failure.category",
        ),
        (
            with(&|b| b["andon_on_failure"] = json!({"category": "quality", "priority": "urgent"})),
            400,
            "andon_on_failure.priority",
        ),
        (with(&|b| b["line"] = json!("line-z")), 404, ""),
    ];
    for (body, status, field) in cases {
        let (got, e) = app.post("/api/v1/checklist-templates", &body).await;
        assert_eq!(got, status, "{body}: {e}");
        assert_eq!(error_field(&e), field, "{body}: {e}");
        if !field.is_empty() {
            assert!(
                e["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(&format!("`{field}`"))),
                "{e}"
            );
        }
    }
    let (status, e) = app.post_raw("/api/v1/checklist-templates", "{\"line\": ").await;
    assert_eq!(status, 400, "{e}");
    assert_eq!(app.get("/api/v1/checklist-templates/abc").await.0, 400);
    assert_eq!(app.get("/api/v1/checklist-templates/999").await.0, 404);
    assert_eq!(app.get("/api/v1/checklist-templates?line=line-z").await.0, 404);
    let (status, e) = app.get("/api/v1/checklist-templates?lines=line-a").await;
    assert_eq!(
        (status, e["error"]["details"]["parameter"].as_str()),
        (400, Some("lines"))
    );

    // A replacement may not move the template to another line, nor break it.
    let t = create(&app, &good).await;
    let path = format!("/api/v1/checklist-templates/{}", id(&t));
    let moved = with(&|b| b["line"] = json!("line-b"));
    let (status, e) = app.call("PUT", &path, Some(&app.admin()), Some(&moved)).await;
    assert_eq!((status, error_field(&e)), (400, "line"), "{e}");
    let broken = with(&|b| b["items"][0]["label"] = json!(""));
    let (status, e) = app.call("PUT", &path, Some(&app.admin()), Some(&broken)).await;
    assert_eq!((status, error_field(&e)), (400, "items[0].label"), "{e}");
    let (_, kept) = app.get(&path).await;
    assert_eq!(
        (kept["version"].as_i64(), kept["items"].clone()),
        (Some(1), t["items"].clone()),
        "unchanged"
    );
    let (_, list) = app.get("/api/v1/checklist-templates").await;
    assert_eq!(list["templates"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        audit(&app, "checklist_template.").await.len(),
        1,
        "only the good create is audited"
    );
}

#[actix_web::test]
async fn a_passing_checklist_is_stored_for_the_current_shift_with_who_and_when() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &two_line_plant(), T0, json!({})).await;
    let t = create(&app, &template("line-a", "Start-up", true, None)).await;
    let (status, c) = fill(&app, "line-a", id(&t), json!({"guard": true, "pressure": 6})).await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["result"], json!("passed"));
    assert_eq!(c["failed"], json!([]));
    assert_eq!(c["template"], json!({"id": id(&t), "name": "Start-up", "version": 1}));
    // The test plant's time zone is UTC: a zero offset is written `Z`.
    assert_eq!(
        c["shift"],
        json!({"name": "day", "start": "2026-03-02T06:00:00Z", "end": "2026-03-02T14:00:00Z"})
    );
    assert_eq!(
        (c["filled_by"].as_str(), c["filled_at"].as_str()),
        (Some("olga"), Some("2026-03-02T07:00:00Z"))
    );
    let outcomes: Vec<_> = c["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["outcome"].clone())
        .collect();
    assert_eq!(outcomes, [json!("pass"), json!("pass"), json!("skipped")]);
    assert_eq!(c["items"][1]["answer"], json!(6));
    assert_eq!(c["ticket"], Value::Null);

    let (status, now) = app.get("/api/v1/lines/line-a/checklists/current").await;
    assert_eq!(status, 200, "{now}");
    assert_eq!(now["templates"][0]["status"], json!("passed"));
    assert_eq!(now["templates"][0]["latest"], json!(id(&c)));
    assert_eq!(now["checklists"][0]["id"], json!(id(&c)));
    assert_eq!(now["job_start_blocked"], Value::Null);

    let range = "from=2026-03-02T06:00:00Z&to=2026-03-02T08:00:00Z";
    let (status, list) = app.get(&format!("/api/v1/lines/line-a/checklists?{range}")).await;
    assert_eq!(
        (status, list["checklists"][0]["id"].as_i64()),
        (200, Some(id(&c))),
        "{list}"
    );
    let (_, none) = app
        .get("/api/v1/lines/line-a/checklists?from=2026-03-02T07:00:01Z")
        .await;
    assert_eq!(none["checklists"], json!([]));
    let (_, other) = app.get("/api/v1/lines/line-b/checklists").await;
    assert_eq!(other["checklists"], json!([]));
    let audited = audit(&app, "checklist.fill").await;
    assert_eq!(audited, [("checklist.fill".into(), "olga".into(), id(&c).to_string())]);
}

#[actix_web::test]
async fn a_failed_checklist_raises_the_templates_andon_ticket() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &two_line_plant(), T0, json!({})).await;
    let andon = json!({"category": "quality", "priority": "high"});
    let t = create(&app, &template("line-a", "Start-up", true, Some(andon))).await;
    let quiet = create(&app, &template("line-a", "Quiet", false, None)).await;

    // guard "no" fails; pressure is missing; the optional note is fine.
    let (status, c) = fill(
        &app,
        "line-a",
        id(&t),
        json!({"guard": false, "note": "door latch broken"}),
    )
    .await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(
        (c["result"].as_str(), c["failed"].clone()),
        (Some("failed"), json!(["guard", "pressure"]))
    );
    let ticket = c["ticket"].as_i64().expect("a ticket");
    let (status, shown) = app.get(&format!("/api/v1/andon/tickets/{ticket}")).await;
    assert_eq!(status, 200, "{shown}");
    let tk = &shown["ticket"];
    assert_eq!(
        (tk["line"].as_str(), tk["machine"].clone()),
        (Some("line-a"), Value::Null)
    );
    assert_eq!(
        (tk["category"].as_str(), tk["priority"].as_str()),
        (Some("quality"), Some("high"))
    );
    assert_eq!(
        tk["description"],
        json!("Checklist `Start-up` failed in shift `day` (filled by olga): guard (no), pressure (missing)")
    );
    let (_, stored) = app.get("/api/v1/lines/line-a/checklists").await;
    assert_eq!(
        stored["checklists"][0]["ticket"],
        json!(ticket),
        "the ticket is on the stored checklist"
    );
    assert_eq!(
        audit(&app, "andon.raise").await,
        [("andon.raise".into(), "olga".into(), ticket.to_string())]
    );

    // A number outside its limits fails too; a template without a ticket rule raises none.
    let (_, c2) = fill(&app, "line-a", id(&quiet), json!({"guard": true, "pressure": 6.5})).await;
    assert_eq!(
        (c2["result"].as_str(), c2["ticket"].clone()),
        (Some("failed"), Value::Null)
    );
    let (_, tickets) = app.get("/api/v1/andon/tickets").await;
    assert_eq!(tickets["tickets"].as_array().map(Vec::len), Some(1));
    let (_, now) = app.get("/api/v1/lines/line-a/checklists/current").await;
    let states: Vec<_> = now["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .map(|t| t["status"].clone())
        .collect();
    assert_eq!(states, [json!("failed"), json!("failed")], "Quiet, Start-up (by name)");
}

#[actix_web::test]
async fn a_changed_template_keeps_the_version_already_filled() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &two_line_plant(), T0, json!({})).await;
    let t = create(&app, &template("line-a", "Start-up", false, None)).await;
    let (_, first) = fill(&app, "line-a", id(&t), json!({"guard": true, "pressure": 5})).await;
    let mut changed = template("line-a", "Start-up", false, None);
    changed["items"] = json!([{"key": "ppe", "label": "PPE on?", "kind": "yes_no"}]);
    let path = format!("/api/v1/checklist-templates/{}", id(&t));
    assert_eq!(app.call("PUT", &path, Some(&app.admin()), Some(&changed)).await.0, 200);
    // The old answers no longer fit the new version.
    let (status, e) = fill(&app, "line-a", id(&t), json!({"guard": true, "pressure": 5})).await;
    assert_eq!((status, error_field(&e)), (400, "answers.guard"), "{e}");
    let (status, second) = fill(&app, "line-a", id(&t), json!({"ppe": true})).await;
    assert_eq!(status, 201, "{second}");
    let (_, list) = app.get("/api/v1/lines/line-a/checklists").await;
    let list = list["checklists"].as_array().expect("checklists").clone();
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[1]["id"].as_i64(), list[1]["template"]["version"].as_i64()),
        (Some(id(&first)), Some(1))
    );
    let keys = |c: &Value| {
        c["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["key"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&list[1]), [json!("guard"), json!("pressure"), json!("note")]);
    assert_eq!(list[0]["template"]["version"], json!(2));
    assert_eq!(keys(&list[0]), [json!("ppe")]);
}

#[actix_web::test]
async fn job_start_is_blocked_until_every_blocking_checklist_passed_in_the_shift() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &two_line_plant(), T0, json!({})).await;
    let blocker = |now: i64| {
        let (store, plant) = (app.store.clone(), app.plant.plant().clone());
        async move {
            ms5::store::job_start_blocker(&store, &plant, "line-a", now)
                .await
                .expect("store")
        }
    };
    assert_eq!(blocker(T0).await, None, "no templates");
    let quiet = create(&app, &template("line-a", "Quiet", false, None)).await;
    assert_eq!(blocker(T0).await, None, "a template that does not block");
    let t = create(&app, &template("line-a", "Start-up", true, None)).await;
    let not_filled = "checklist `Start-up` has not been filled in shift `day`";
    assert_eq!(blocker(T0).await.as_deref(), Some(not_filled));
    let (_, now) = app.get("/api/v1/lines/line-a/checklists/current").await;
    assert_eq!(now["job_start_blocked"], json!(not_filled));
    // line-b has nothing to fill.
    let b = ms5::store::job_start_blocker(&app.store, app.plant.plant(), "line-b", T0)
        .await
        .expect("store");
    assert_eq!(b, None);

    fill(&app, "line-a", id(&quiet), json!({})).await;
    assert_eq!(
        blocker(T0).await.as_deref(),
        Some(not_filled),
        "another template's checklist does not count"
    );
    fill(&app, "line-a", id(&t), json!({"guard": false, "pressure": 5})).await;
    assert_eq!(
        blocker(T0).await.as_deref(),
        Some("checklist `Start-up` failed in shift `day`")
    );
    app.clock.set(T0 + 30 * MIN);
    fill(&app, "line-a", id(&t), json!({"guard": true, "pressure": 5})).await;
    assert_eq!(blocker(T0 + 30 * MIN).await, None, "the latest checklist counts");
    assert_eq!(blocker(DAY + 13 * HOUR + 59 * MIN).await, None, "still the same shift");
    assert_eq!(
        blocker(DAY + 15 * HOUR).await,
        None,
        "outside every shift nothing blocks"
    );
    let tomorrow = DAY + 24 * HOUR + 6 * HOUR;
    assert_eq!(
        blocker(tomorrow).await.as_deref(),
        Some(not_filled),
        "the next day's shift starts over"
    );
    let path = format!("/api/v1/checklist-templates/{}", id(&t));
    assert_eq!(app.call("DELETE", &path, Some(&app.admin()), None).await.0, 200);
    assert_eq!(blocker(tomorrow).await, None, "a deleted template blocks nothing");
}

#[actix_web::test]
async fn bad_fills_are_refused_and_leave_nothing_behind() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &two_line_plant(), T0, json!({})).await;
    let t = create(
        &app,
        &template(
            "line-a",
            "Start-up",
            true,
            Some(json!({"category": "safety", "priority": "low"})),
        ),
    )
    .await;
    let tb = create(&app, &template("line-b", "Press", false, None)).await;
    let (ta, tb) = (id(&t), id(&tb));
    let op = app.token_with("olga", Role::Operator, None).await;
    let post = |line: &str, body: Value| {
        let (path, op) = (format!("/api/v1/lines/{line}/checklists"), op.clone());
        let app = &app;
        async move { app.post_as(&path, &op, &body).await }
    };
    // (line, body, status, field named)
    let cases = [
        ("line-z", json!({"template": ta, "answers": {}}), 404, ""),
        ("line-a", json!({"template": 999, "answers": {}}), 404, ""),
        ("line-a", json!({"template": tb, "answers": {}}), 400, "template"),
        ("line-a", json!({"answers": {}}), 400, "template"),
        ("line-a", json!({"template": ta}), 400, "answers"),
        ("line-a", json!({"template": ta, "answers": {}, "by": "x"}), 400, "by"),
        ("line-a", json!({"template": "one", "answers": {}}), 400, "template"),
        (
            "line-a",
            json!({"template": ta, "answers": {"guard": "yes"}}),
            400,
            "answers.guard",
        ),
        (
            "line-a",
            json!({"template": ta, "answers": {"pressure": "5"}}),
            400,
            "answers.pressure",
        ),
        (
            "line-a",
            json!({"template": ta, "answers": {"colour": 1}}),
            400,
            "answers.colour",
        ),
        ("line-a", json!({"template": ta, "answers": [true]}), 400, "answers"),
    ];
    for (line, body, status, field) in cases {
        let (got, e) = post(line, body.clone()).await;
        assert_eq!((got, error_field(&e)), (status, field), "{line} {body}: {e}");
    }
    // Someone limited to line-b may not fill line-a's checklists; a display may not fill.
    let bert = app
        .token_with("bert", Role::Operator, Some(vec!["line-b".into()]))
        .await;
    let body = json!({"template": ta, "answers": {"guard": false}});
    assert_eq!(
        app.post_as("/api/v1/lines/line-a/checklists", &bert, &body).await.0,
        403
    );
    let (_, display) = app.post("/api/v1/display-tokens", &json!({"name": "wall"})).await;
    let display = display["token"].as_str().expect("token").to_owned();
    assert_eq!(
        app.post_as("/api/v1/lines/line-a/checklists", &display, &body).await.0,
        403
    );
    assert_eq!(app.get_as("/api/v1/lines/line-a/checklists", &bert).await.0, 403);

    // Outside every shift (15:00 UTC): 409, naming the next shift start.
    app.clock.set(DAY + 15 * HOUR);
    let op = app.token_with("olga", Role::Operator, None).await;
    let (status, e) = app.post_as("/api/v1/lines/line-a/checklists", &op, &body).await;
    assert_eq!(status, 409, "{e}");
    let message = e["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("outside every shift") && message.contains("2026-03-03T06:00:00Z"),
        "{message}"
    );
    let (_, now) = app.get("/api/v1/lines/line-a/checklists/current").await;
    assert_eq!(
        (now["shift"].clone(), now["job_start_blocked"].clone()),
        (Value::Null, Value::Null)
    );

    // Bad list queries.
    let (status, e) = app
        .get("/api/v1/lines/line-a/checklists?from=2026-03-02T08:00:00Z&to=2026-03-02T07:00:00Z")
        .await;
    assert_eq!(status, 400, "{e}");
    let (status, e) = app.get("/api/v1/lines/line-a/checklists?limit=many").await;
    assert_eq!(
        (status, e["error"]["details"]["parameter"].as_str()),
        (400, Some("limit"))
    );
    assert_eq!(app.get("/api/v1/lines/line-z/checklists/current").await.0, 404);

    // Nothing was stored, no ticket raised, nothing audited.
    let (_, list) = app.get("/api/v1/lines/line-a/checklists").await;
    assert_eq!(list["checklists"], json!([]));
    let (_, tickets) = app.get("/api/v1/andon/tickets").await;
    assert_eq!(tickets["tickets"], json!([]));
    assert!(audit(&app, "checklist.").await.is_empty());
}

#[actix_web::test]
async fn the_next_shift_reads_the_previous_shifts_handover_across_a_dst_night() {
    // Saturday 2026-03-28 23:00 CET (+01:00) = 22:00Z, inside the night shift that ends
    // at 06:00 CEST (+02:00) = 04:00Z on Sunday: 7 hours, as clocks spring forward.
    let night = chrono::DateTime::parse_from_rfc3339("2026-03-28T23:00:00+01:00")
        .expect("time")
        .timestamp_millis();
    let dir = temp();
    let app = spawn_plant_at(dir.path(), BERLIN_PLANT, night, json!({})).await;
    let t = create(&app, &template("line-a", "Start-up", false, None)).await;
    let (_, c) = fill(&app, "line-a", id(&t), json!({"guard": true, "pressure": 5})).await;
    let night_slot = json!({"name": "night", "start": "2026-03-28T22:00:00+01:00", "end": "2026-03-29T06:00:00+02:00"});
    assert_eq!(c["shift"], night_slot);

    let olga = app.token_with("olga", Role::Operator, None).await;
    let write = |token: String, note: &str| {
        let body = json!({ "note": note });
        let app = &app;
        async move { app.post_as("/api/v1/lines/line-a/handover", &token, &body).await }
    };
    let (status, n1) = write(olga.clone(), "  filler valve 3 drips; watch it  ").await;
    assert_eq!(status, 201, "{n1}");
    assert_eq!(
        (n1["note"].as_str(), n1["author"].as_str()),
        (Some("filler valve 3 drips; watch it"), Some("olga"))
    );
    assert_eq!(n1["shift"], night_slot);
    app.clock.set(night + 4 * HOUR); // 04:00 CEST (the hour 02:00-03:00 never happened)
    let olga = app.token_with("olga", Role::Operator, None).await;
    assert_eq!(write(olga, "label roll changed at 03:50").await.0, 201);
    let (_, current) = app.get("/api/v1/lines/line-a/handover?shift=current").await;
    assert_eq!(current["notes"].as_array().map(Vec::len), Some(2));
    let (_, before) = app.get("/api/v1/lines/line-a/handover").await;
    assert_eq!(
        before["shift"]["name"],
        json!("late"),
        "the night's previous shift is the late one"
    );
    assert_eq!(before["notes"], json!([]));

    // 06:00 CEST: the early shift starts and reads the night's notes, oldest first.
    let early = chrono::DateTime::parse_from_rfc3339("2026-03-29T06:00:00+02:00")
        .expect("time")
        .timestamp_millis();
    assert_eq!(early - night, 6 * HOUR, "23:00 CET to 06:00 CEST is six hours");
    app.clock.set(early);
    let anna = app.token_with("anna", Role::Operator, None).await;
    let (status, read) = app.get_as("/api/v1/lines/line-a/handover", &anna).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(
        (read["which"].as_str(), read["shift"].clone()),
        (Some("previous"), night_slot.clone())
    );
    let notes: Vec<_> = read["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .map(|n| n["note"].clone())
        .collect();
    assert_eq!(
        notes,
        [
            json!("filler valve 3 drips; watch it"),
            json!("label roll changed at 03:50")
        ]
    );
    assert_eq!(read["notes"][1]["written_at"], json!("2026-03-29T02:00:00Z"));
    let (_, now) = app.get_as("/api/v1/lines/line-a/handover?shift=current", &anna).await;
    assert_eq!(now["shift"]["start"], json!("2026-03-29T06:00:00+02:00"));
    assert_eq!(now["notes"], json!([]));
    let (_, checklists) = app.get("/api/v1/lines/line-a/checklists/current").await;
    assert_eq!(
        checklists["templates"][0]["status"],
        json!("not_started"),
        "a new shift, a new checklist"
    );
    let audited = audit(&app, "handover.").await;
    assert_eq!(
        audited.iter().map(|a| a.1.as_str()).collect::<Vec<_>>(),
        ["olga", "olga"]
    );
    assert!(audited.iter().all(|a| a.0 == "handover.write"));
}

#[actix_web::test]
async fn bad_handover_notes_are_refused_and_leave_nothing_behind() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &two_line_plant(), T0, json!({})).await;
    let op = app.token_with("olga", Role::Operator, None).await;
    // (line, body, status, field named)
    let cases = [
        ("line-a", json!({"note": ""}), 400, "note"),
        ("line-a", json!({"note": " \n "}), 400, "note"),
        ("line-a", json!({"note": "x".repeat(4001)}), 400, "note"),
        ("line-a", json!({"note": 5}), 400, "note"),
        ("line-a", json!({}), 400, "note"),
        ("line-a", json!({"note": "ok", "shift": "night"}), 400, "shift"),
        ("line-z", json!({"note": "ok"}), 404, ""),
    ];
    for (line, body, status, field) in cases {
        let (got, e) = app.post_as(&format!("/api/v1/lines/{line}/handover"), &op, &body).await;
        assert_eq!((got, error_field(&e)), (status, field), "{line}: {e}");
    }
    let bert = app
        .token_with("bert", Role::Operator, Some(vec!["line-b".into()]))
        .await;
    let ok = json!({"note": "ok"});
    assert_eq!(app.post_as("/api/v1/lines/line-a/handover", &bert, &ok).await.0, 403);
    assert_eq!(app.get_as("/api/v1/lines/line-a/handover", &bert).await.0, 403);
    let (status, e) = app.get("/api/v1/lines/line-a/handover?shift=yesterday").await;
    assert_eq!(
        (status, e["error"]["details"]["parameter"].as_str()),
        (400, Some("shift")),
        "{e}"
    );
    app.clock.set(DAY + 15 * HOUR);
    let op = app.token_with("olga", Role::Operator, None).await;
    let (status, e) = app.post_as("/api/v1/lines/line-a/handover", &op, &ok).await;
    assert_eq!(status, 409, "{e}");
    // Between shifts, `previous` is the shift that just ended, `current` is none.
    let (_, read) = app.get("/api/v1/lines/line-a/handover?shift=current").await;
    assert_eq!((read["shift"].clone(), read["notes"].clone()), (Value::Null, json!([])));
    let (_, read) = app.get("/api/v1/lines/line-a/handover").await;
    assert_eq!(
        (read["shift"]["name"].as_str(), read["notes"].clone()),
        (Some("day"), json!([]))
    );
    // A note of exactly 4000 characters is fine (in the shift).
    app.clock.set(T0);
    let op = app.token_with("olga", Role::Operator, None).await;
    let (status, n) = app
        .post_as("/api/v1/lines/line-a/handover", &op, &json!({"note": "é".repeat(4000)}))
        .await;
    assert_eq!(status, 201, "{n}");
    assert_eq!(audit(&app, "handover.").await.len(), 1, "only the good note is audited");
}

/// Every `$ref` inside `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                out.push(r.to_owned());
            }
            o.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[actix_web::test]
async fn the_openapi_document_describes_the_checklist_routes_and_their_bodies() {
    let dir = temp();
    let app = spawn_test_plant(dir.path(), T0).await;
    let (status, doc) = app.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    let paths = [
        "/api/v1/checklist-templates",
        "/api/v1/checklist-templates/{id}",
        "/api/v1/lines/{id}/checklists",
        "/api/v1/lines/{id}/checklists/current",
        "/api/v1/lines/{id}/handover",
    ];
    let mut seen = Vec::new();
    for p in paths {
        assert!(doc["paths"][p].is_object(), "{p} missing");
        refs(&doc["paths"][p], &mut seen);
    }
    // Follow the references through the schemas they name.
    let mut i = 0;
    while i < seen.len() {
        let name = seen[i].trim_start_matches("#/components/schemas/").to_owned();
        let schema = &doc["components"]["schemas"][&name];
        assert!(schema.is_object(), "{} does not resolve", seen[i]);
        let mut more = Vec::new();
        refs(schema, &mut more);
        for r in more {
            if !seen.contains(&r) {
                seen.push(r);
            }
        }
        i += 1;
    }
    for name in [
        "TemplateBody",
        "ChecklistTemplate",
        "ChecklistItem",
        "FillBody",
        "ChecklistView",
        "ItemResult",
    ] {
        assert!(
            seen.contains(&format!("#/components/schemas/{name}")),
            "{name} not referenced"
        );
    }
    for name in [
        "CurrentChecklists",
        "ShiftSlot",
        "NoteBody",
        "HandoverNote",
        "HandoverNotes",
    ] {
        assert!(
            seen.contains(&format!("#/components/schemas/{name}")),
            "{name} not referenced"
        );
    }
    let slot = &doc["components"]["schemas"]["ShiftSlot"]["properties"]["start"];
    assert_eq!(
        (slot["type"].as_str(), slot["format"].as_str()),
        (Some("string"), Some("date-time")),
        "{slot}"
    );
}
