//! The web UI, embedded in the binary.

use actix_web::{HttpResponse, get, web};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "web/"]
struct Assets;

fn serve(path: &str) -> HttpResponse {
    match Assets::get(path) {
        Some(file) => HttpResponse::Ok()
            .content_type(file.metadata.mimetype())
            .insert_header(("Cache-Control", "no-cache"))
            .body(file.data.into_owned()),
        None => actix_web::ResponseError::error_response(&super::error::ApiError::NotFound {
            what: "file",
            id: path.to_owned(),
        }),
    }
}

/// The plant board.
#[get("/")]
pub async fn index() -> HttpResponse {
    serve("index.html")
}

/// Other UI files.
#[get("/{file:[A-Za-z0-9_.-]+\\.(?:js|css|svg|png|json|webmanifest)}")]
pub async fn asset(path: web::Path<String>) -> HttpResponse {
    serve(&path)
}
