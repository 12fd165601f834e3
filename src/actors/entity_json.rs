//! `EntityJson`: a published entity (machine, line, ticket, job) kept as its typed value
//! and serialised on first demand, then shared: its JSON as the REST API shows it (REST
//! bodies, protocol 1 frames) and its protocol 2 document (patches, snapshots).
//!
//! Most changes are read by nobody: the machine channels of a plant mostly have no
//! subscribers, and a REST body is read far less often than it changes. Each form is made
//! only when someone needs it, and then once for everyone.

use std::sync::{Arc, OnceLock};

use bytestring::ByteString;
use serde::Serialize;
use serde_json::Value;

use crate::domain::wire_doc::entity_doc;

/// A value that can be serialised into both forms (any `Serialize` behind an `Arc`).
trait Source: Send + Sync {
    fn json(&self) -> serde_json::Result<String>;
    fn value(&self) -> serde_json::Result<Value>;
}

struct Shared<T>(Arc<T>);

impl<T: Serialize + Send + Sync> Source for Shared<T> {
    fn json(&self) -> serde_json::Result<String> {
        serde_json::to_string(&*self.0)
    }

    fn value(&self) -> serde_json::Result<Value> {
        serde_json::to_value(&*self.0)
    }
}

/// JSON text as received (another replica's state of an entity).
struct Text(ByteString);

impl Source for Text {
    fn json(&self) -> serde_json::Result<String> {
        Ok(self.0.to_string())
    }

    fn value(&self) -> serde_json::Result<Value> {
        serde_json::from_str(&self.0)
    }
}

/// One state of an entity, serialised when first asked for.
pub struct EntityJson {
    /// The entity's id, for the log should it not serialise.
    entity: String,
    source: Box<dyn Source>,
    data: OnceLock<ByteString>,
    doc: OnceLock<Arc<Value>>,
}

impl EntityJson {
    /// The state `value` of `entity`.
    pub fn new<T: Serialize + Send + Sync + 'static>(entity: &str, value: Arc<T>) -> Arc<EntityJson> {
        Arc::new(EntityJson {
            entity: entity.to_owned(),
            source: Box::new(Shared(value)),
            data: OnceLock::new(),
            doc: OnceLock::new(),
        })
    }

    /// The state of `entity` as JSON text (its REST form, as another replica sent it).
    pub fn from_json(entity: &str, json: ByteString) -> Arc<EntityJson> {
        Arc::new(EntityJson {
            entity: entity.to_owned(),
            source: Box::new(Text(json.clone())),
            data: OnceLock::from(json),
            doc: OnceLock::new(),
        })
    }

    /// The JSON as the REST API shows it (the struct's field order); `null` (logged) if it
    /// cannot be serialised.
    pub fn data(&self) -> ByteString {
        self.data
            .get_or_init(|| {
                self.source.json().map(ByteString::from).unwrap_or_else(|e| {
                    tracing::error!(entity = %self.entity, error = %e, "cannot serialise a pushed entity");
                    ByteString::from_static("null")
                })
            })
            .clone()
    }

    /// The protocol 2 document (see `domain::wire_doc`), compared between states, not shown.
    pub fn doc(&self) -> Arc<Value> {
        self.doc
            .get_or_init(|| {
                let value = self.source.value().unwrap_or_else(|e| {
                    tracing::error!(entity = %self.entity, error = %e, "cannot serialise a pushed entity");
                    Value::Null
                });
                Arc::new(entity_doc(value))
            })
            .clone()
    }

    /// Whether the document was made (tests: nothing is serialised that nobody reads).
    pub fn doc_made(&self) -> bool {
        self.doc.get().is_some()
    }

    /// Whether the REST JSON was made.
    pub fn data_made(&self) -> bool {
        self.data.get().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Thing {
        id: &'static str,
        zeta: u32,
        alpha: u32,
    }

    #[test]
    fn each_form_is_made_on_first_demand_and_then_shared() {
        let json = EntityJson::new(
            "t1",
            Arc::new(Thing {
                id: "t1",
                zeta: 2,
                alpha: 1,
            }),
        );
        assert!(!json.data_made() && !json.doc_made(), "nothing is serialised up front");
        // The REST form keeps the struct's field order.
        assert_eq!(&*json.data(), r#"{"id":"t1","zeta":2,"alpha":1}"#);
        assert!(json.data_made() && !json.doc_made());
        let doc = json.doc();
        assert_eq!(doc["zeta"], 2);
        assert!(Arc::ptr_eq(&doc, &json.doc()), "made once");
    }
}
