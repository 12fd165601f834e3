//! The web UI, embedded in the binary: the plant board at `/` and the floor app at
//! `/app`, with their modules and files.

use actix_web::{HttpResponse, web};
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
#[utoipa::path(get, path = "/", tag = "web", responses((status = 200, description = "the board (HTML)", content_type = "text/html")))]
pub async fn index() -> HttpResponse {
    serve("index.html")
}

/// The floor app: operator, supervisor, manager, engineer and admin screens.
#[utoipa::path(get, path = "/app", tag = "web", responses((status = 200, description = "the floor app (HTML)", content_type = "text/html")))]
pub async fn app() -> HttpResponse {
    serve("app.html")
}

/// Other UI files (folders hold no dots, so a path never climbs out of `web/`).
#[utoipa::path(get, path = "/{file}", tag = "web",
    params(("file" = String, Path, description = "a UI file (.js, .css, .svg, .png, .json, .webmanifest), possibly in a folder")),
    responses((status = 200, description = "the file"), (status = 404, body = super::openapi::ErrorBody)))]
pub async fn asset(path: web::Path<String>, state: web::Data<super::AppState>) -> HttpResponse {
    // The service worker exists only while offline support is on; without it browsers
    // drop an installed one at their next update check.
    if path.as_str() == "sw.js" && !state.flags.get(crate::domain::flags::Flag::OfflineSupport) {
        return actix_web::ResponseError::error_response(&super::error::ApiError::FeatureDisabled(
            "offline_support is off".into(),
        ));
    }
    serve(&path)
}

#[cfg(test)]
mod tests {
    use super::Assets;

    /// Every file of the board and the floor app is in the service worker's shell, so a
    /// screen opened offline finds all its modules (the pages are kept as `./` and `app`,
    /// the PNG icons are for installing only).
    #[test]
    fn the_service_worker_keeps_every_ui_file() {
        let sw = Assets::get("sw.js").map(|f| String::from_utf8_lossy(&f.data).into_owned());
        let sw = sw.unwrap_or_default();
        let missing: Vec<String> = Assets::iter()
            .map(|p| p.into_owned())
            .filter(|p| !matches!(p.as_str(), "sw.js" | "index.html" | "app.html") && !p.ends_with(".png"))
            .filter(|p| !sw.contains(&format!("'{p}'")))
            .collect();
        assert!(missing.is_empty(), "not in sw.js SHELL: {missing:?}");
        assert!(sw.contains("'./'") && sw.contains("'app'"));
    }
}
