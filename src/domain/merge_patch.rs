//! JSON Merge Patch (RFC 7396): the difference between two documents as a patch, and its
//! application. Protocol 2 of the WebSocket sends these instead of whole entities.
//!
//! In a merge patch `null` means "remove this member", so documents sent this way carry
//! no `null` members at all ([`strip_nulls`]): an absent member reads as `null`.

use serde_json::{Map, Value};

/// Removes every object member whose value is `null`, at any depth (array elements stay).
pub fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// The merge patch that turns `old` into `new`; `None` when they are equal. Both must be
/// free of `null` members (see [`strip_nulls`]).
pub fn diff(old: &Value, new: &Value) -> Option<Value> {
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            let mut patch = Map::new();
            for (key, new_value) in new {
                match old.get(key) {
                    Some(old_value) => {
                        if let Some(p) = diff_member(old_value, new_value) {
                            patch.insert(key.clone(), p);
                        }
                    }
                    None => {
                        patch.insert(key.clone(), new_value.clone());
                    }
                }
            }
            for key in old.keys() {
                if !new.contains_key(key) {
                    patch.insert(key.clone(), Value::Null);
                }
            }
            (!patch.is_empty()).then_some(Value::Object(patch))
        }
        _ => (old != new).then(|| new.clone()),
    }
}

fn diff_member(old: &Value, new: &Value) -> Option<Value> {
    match (old, new) {
        // An object replacing a non-object must arrive whole: a patch would merge into
        // whatever the client holds.
        (Value::Object(_), Value::Object(_)) => diff(old, new),
        _ => (old != new).then(|| new.clone()),
    }
}

/// Applies `patch` to `target` (RFC 7396 §2).
pub fn apply(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                apply(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_rfc_examples_apply_as_written() {
        // RFC 7396 appendix A, the cases without nulls in the target.
        let table = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (json!({"a":"b","b":"c"}), json!({"a":null}), json!({"b":"c"})),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (json!({}), json!({"a":{"bb":{"ccc":null}}}), json!({"a":{"bb":{}}})),
        ];
        for (target, patch, want) in table {
            let mut got = target.clone();
            apply(&mut got, &patch);
            assert_eq!(got, want, "{target} + {patch}");
        }
    }

    #[test]
    fn a_diff_carries_only_what_changed_and_applies_back() {
        let table = [
            (
                json!({"a":1,"b":{"c":2,"d":3}}),
                json!({"a":1,"b":{"c":2,"d":4}}),
                Some(json!({"b":{"d":4}})),
            ),
            (json!({"a":1,"b":2}), json!({"a":1}), Some(json!({"b":null}))),
            (json!({"a":1}), json!({"a":1,"b":[1,2]}), Some(json!({"b":[1,2]}))),
            (json!({"a":[1,2]}), json!({"a":[1,3]}), Some(json!({"a":[1,3]}))),
            (json!({"a":"x"}), json!({"a":{"b":1}}), Some(json!({"a":{"b":1}}))),
            (json!({"a":{"b":1}}), json!({"a":{"b":1}}), None),
            (json!(1), json!(2), Some(json!(2))),
        ];
        for (old, new, want) in table {
            let patch = diff(&old, &new);
            assert_eq!(patch, want, "{old} → {new}");
            let mut back = old.clone();
            if let Some(p) = &patch {
                apply(&mut back, p);
            }
            assert_eq!(back, new, "{old} + {patch:?}");
        }
    }

    #[test]
    fn nulls_are_stripped_at_every_depth_but_not_from_arrays() {
        let mut v = json!({"a":null,"b":{"c":null,"d":1},"e":[null,{"f":null}]});
        strip_nulls(&mut v);
        assert_eq!(v, json!({"b":{"d":1},"e":[null,{}]}));
    }
}
