//! Handover notes over REST: operators write notes for the current shift occurrence of
//! their line; the next shift reads them at its start (`?shift=previous`, the default).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::checklists::{line_in_scope, outside_shifts};
use super::field_json;
use crate::domain::production::handover::note as valid_note;
use crate::domain::production::shift_slot::{ShiftSlot, Which, current_shift, shift_of, slot, slot_of};
use crate::domain::shift::ShiftCalendar;
use crate::domain::snapshot::utc;
use crate::http::AppState;
use crate::http::access::Caller;
use crate::http::error::ApiError;
use crate::http::openapi::ErrorBody;
use crate::http::query::ApiQuery;
use crate::store::HandoverRow;

/// A note to hand over.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    /// The note, 1-4000 characters.
    note: String,
}

/// A handover note.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandoverNote {
    /// Id.
    id: i64,
    /// Line id.
    line: String,
    /// The shift occurrence it was written in (plant-local times).
    shift: ShiftSlot,
    /// The note.
    note: String,
    /// Who wrote it.
    author: String,
    /// When.
    written_at: DateTime<Utc>,
}

fn view(calendar: &ShiftCalendar, r: HandoverRow) -> HandoverNote {
    HandoverNote {
        id: r.id,
        shift: slot(calendar, &r.shift.name, r.shift.start, r.shift.end),
        line: r.line,
        note: r.note,
        author: r.written_by,
        written_at: utc(r.written_at),
    }
}

/// Writes a handover note for the current shift occurrence of a line.
#[utoipa::path(post, path = "/api/v1/lines/{id}/handover", tag = "checklists", request_body = NoteBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters; the same key and request within 24 h gets the first answer back and applies nothing"), ("id" = String, Path, description = "line id")),
    responses((status = 422, description = "the Idempotency-Key was used for another request", body = ErrorBody), (status = 201, body = HandoverNote), (status = 400, description = "names the field", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "outside every shift", body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn write(
    state: web::Data<AppState>,
    caller: Caller,
    line: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let line = line.into_inner();
    line_in_scope(&state, &caller, &line)?;
    state.written_here(&line, "handover notes")?;
    let b: NoteBody = field_json::parse(body.into_inner())?;
    let note = valid_note(&b.note)?;
    let calendar = &state.plant.plant().calendar;
    let now = state.clock.now_ms();
    let shift = current_shift(calendar, now).ok_or_else(|| outside_shifts(calendar, "handover notes", now))?;
    let row = state
        .store
        .insert_handover(&line, &shift, &note, &caller.principal.name(), now)
        .await?;
    let out = view(calendar, row);
    let details = json!({ "line": line, "shift": out.shift, "chars": note.chars().count() });
    state
        .audit_by(&caller, "handover.write", Some(out.id.to_string()), details)
        .await;
    Ok(HttpResponse::Created().json(out))
}

/// Which shift's notes to read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HandoverQuery {
    /// `previous` (default: the shift before the current one, or the last one that ended
    /// between shifts) or `current`.
    #[param(inline)]
    shift: Option<Which>,
}

/// The notes of one shift occurrence.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandoverNotes {
    /// Line id.
    line: String,
    /// Which occurrence was asked for.
    which: Which,
    /// That occurrence; null when there is none (outside every shift for `current`).
    shift: Option<ShiftSlot>,
    /// Oldest first.
    notes: Vec<HandoverNote>,
}

/// The handover notes of a line for the previous (default) or current shift occurrence.
#[utoipa::path(get, path = "/api/v1/lines/{id}/handover", tag = "checklists",
    params(("id" = String, Path, description = "line id"), HandoverQuery),
    responses((status = 200, body = HandoverNotes), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn read(
    state: web::Data<AppState>,
    caller: Caller,
    line: web::Path<String>,
    q: ApiQuery<HandoverQuery>,
) -> Result<HttpResponse, ApiError> {
    let line = line.into_inner();
    line_in_scope(&state, &caller, &line)?;
    let which = q.shift.unwrap_or_default();
    let calendar = &state.plant.plant().calendar;
    let shift = shift_of(calendar, which, state.clock.now_ms());
    let notes = match &shift {
        Some(s) => state.store.handover_notes(&line, s.start).await?,
        None => Vec::new(),
    };
    Ok(HttpResponse::Ok().json(HandoverNotes {
        line,
        which,
        shift: shift.as_ref().map(|s| slot_of(calendar, s)),
        notes: notes.into_iter().map(|r| view(calendar, r)).collect(),
    }))
}
