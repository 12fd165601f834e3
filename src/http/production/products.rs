//! Products: the plant model's (read-only) and those made at run time (engineers).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::domain::production::product::{ProductDef, ProductSource, plant_products, validate};
use crate::http::AppState;
use crate::http::access::Caller;
use crate::http::error::ApiError;
use crate::http::openapi::ErrorBody;

/// Every product.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductList {
    /// The plant model's products, then the stored ones, by code.
    pub products: Vec<ProductDef>,
}

/// A stored product's definition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    /// Display name.
    name: String,
    /// Ideal cycle time on a machine without its own, ms.
    ideal_cycle_ms: i64,
    /// Ideal cycle time per machine id, ms.
    #[serde(default)]
    machine_cycles: BTreeMap<String, i64>,
}

fn not_found(code: &str) -> ApiError {
    ApiError::NotFound {
        what: "product",
        id: code.to_owned(),
    }
}

/// Lists every product.
#[utoipa::path(get, path = "/api/v1/products", tag = "production",
    responses((status = 200, body = ProductList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut products = plant_products(state.plant.plant());
    products.extend(state.store.products().await?);
    Ok(HttpResponse::Ok().json(ProductList { products }))
}

/// One product.
#[utoipa::path(get, path = "/api/v1/products/{code}", tag = "production",
    params(("code" = String, Path, description = "product code")),
    responses((status = 200, body = ProductDef), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn show(state: web::Data<AppState>, code: web::Path<String>) -> Result<HttpResponse, ApiError> {
    match state.jobs.product(&code).await? {
        Some(p) => Ok(HttpResponse::Ok().json(p)),
        None => Err(not_found(&code)),
    }
}

/// Creates or replaces a stored product (201 when new).
#[utoipa::path(put, path = "/api/v1/products/{code}", tag = "production", request_body = ProductBody,
    params(("code" = String, Path, description = "product code")),
    responses((status = 200, body = ProductDef), (status = 201, body = ProductDef), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: web::Json<ProductBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let plant = state.plant.plant();
    validate(plant, &code, &b.name, b.ideal_cycle_ms, &b.machine_cycles).map_err(|e| ApiError::BadRequest {
        message: e.to_string(),
        details: Some(json!({ "field": e.field })),
    })?;
    let product = ProductDef {
        code: code.into_inner(),
        name: b.name.trim().to_owned(),
        ideal_cycle_ms: Some(b.ideal_cycle_ms),
        machine_cycles: b.machine_cycles,
        source: ProductSource::Stored,
    };
    let created = state
        .store
        .put_product(&product, state.clock.now_ms(), &caller.principal.name())
        .await?;
    state
        .audit_by(
            &caller,
            if created { "product.create" } else { "product.update" },
            Some(product.code.clone()),
            json!({ "name": product.name, "ideal_cycle_ms": product.ideal_cycle_ms, "machine_cycles": product.machine_cycles }),
        )
        .await;
    // A running job of this product counts its parts with the new times from now on.
    state.jobs.apply_products().await?;
    state.plant.changed(crate::domain::cluster::bus_message::Topic::Jobs);
    Ok(if created {
        HttpResponse::Created().json(product)
    } else {
        HttpResponse::Ok().json(product)
    })
}

/// Deletes a stored product no open job uses.
#[utoipa::path(delete, path = "/api/v1/products/{code}", tag = "production",
    params(("code" = String, Path, description = "product code")),
    responses((status = 204, description = "deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "a plant-model product, or one an open job uses", body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if plant_products(state.plant.plant()).iter().any(|p| p.code == *code) {
        return Err(ApiError::Conflict(format!(
            "product `{code}` is defined by the plant model; change it there"
        )));
    }
    if !state.store.delete_product(&code).await? {
        return Err(not_found(&code));
    }
    state
        .audit_by(&caller, "product.delete", Some(code.into_inner()), json!({}))
        .await;
    Ok(HttpResponse::NoContent().finish())
}
