//! Request bodies: JSON parsed whatever the `Content-Type` (the clients send none), then
//! checked against an endpoint's schema with the original's rules (required keys, strict or
//! lenient about unknown keys, types, lengths, allowed values) before anything is looked up.

use std::net::Ipv4Addr;

use poem::{FromRequest, Request, RequestBody};
use serde_json::{Map, Value};

use super::error::{ApiError, SchemaKind};

/// Largest JSON body accepted (an installer config may be 2 MiB of text, escaped).
pub(crate) const MAX_JSON_BODY: u64 = 8 * 1024 * 1024;

/// A JSON request body, parsed whatever the `Content-Type`.
pub(crate) struct JsonBody(pub(crate) Value);

impl<'a> FromRequest<'a> for JsonBody {
    async fn from_request(_req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let body = body.take()?;
        let bytes = body
            .into_bytes_limit(MAX_JSON_BODY as usize)
            .await
            .map_err(|_| ApiError::TooLarge(MAX_JSON_BODY))?;
        if bytes.is_empty() {
            return Err(ApiError::BadJson("the request needs a JSON body".into()).into());
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::BadJson(format!("the body is not valid JSON: {e}")).into())
    }
}

/// The type a field's value must have.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ty {
    /// `true` or `false` only (not 1, not "true").
    Bool,
    /// A string of `min..=max` characters.
    Str(usize, usize),
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// An id: a JSON integer, or a string of digits (clients sometimes send "7").
    Id,
    /// A positive whole number of seconds.
    Seconds,
    /// An RFC 3339 date and time.
    Time,
    /// A dotted-quad IPv4 address, or `auto`.
    Ipv4OrAuto,
    /// A MAC address.
    Mac,
}

/// One field of a schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) ty: Ty,
    pub(crate) required: bool,
    pub(crate) nullable: bool,
}

/// A required field that may not be null.
pub(crate) const fn req(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: true,
        nullable: false,
    }
}

/// An optional field that may not be null.
pub(crate) const fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: false,
        nullable: false,
    }
}

/// An optional field that may be null.
pub(crate) const fn opt_null(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: false,
        nullable: true,
    }
}

/// A required field that may be null (the key must be present).
pub(crate) const fn req_null(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: true,
        nullable: true,
    }
}

/// A body schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schema {
    pub(crate) fields: &'static [Field],
    /// Reject unknown keys (otherwise they are ignored).
    pub(crate) strict: bool,
}

/// A body that passed its schema, with typed accessors. "Absent" and "null" stay distinct.
#[derive(Debug)]
pub(crate) struct Body(Map<String, Value>);

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn id_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn check_field(f: &Field, v: &Value) -> Result<(), ApiError> {
    let wrong_type = |expected: &str| {
        ApiError::Schema(
            SchemaKind::UnexpectedType,
            format!("`{}` must be {expected}, not {}", f.name, type_name(v)),
        )
    };
    if v.is_null() {
        return if f.nullable {
            Ok(())
        } else {
            Err(wrong_type("present and not null"))
        };
    }
    match f.ty {
        Ty::Bool => v
            .as_bool()
            .map(|_| ())
            .ok_or_else(|| wrong_type("a boolean")),
        Ty::Str(min, max) => {
            let s = v.as_str().ok_or_else(|| wrong_type("a string"))?;
            let n = s.chars().count();
            if n < min || n > max {
                return Err(ApiError::value(format!(
                    "`{}` must have {min} to {max} characters, not {n}",
                    f.name
                )));
            }
            Ok(())
        }
        Ty::OneOf(allowed) => {
            let s = v.as_str().ok_or_else(|| wrong_type("a string"))?;
            if allowed.contains(&s) {
                Ok(())
            } else {
                Err(ApiError::value(format!(
                    "`{}` must be one of {}, not {s:?}",
                    f.name,
                    allowed.join(", ")
                )))
            }
        }
        Ty::Id => match v {
            Value::Number(_) | Value::String(_) => id_of(v).map(|_| ()).ok_or_else(|| {
                ApiError::value(format!("`{}` must be a whole number, not {v}", f.name))
            }),
            _ => Err(wrong_type("an id (a whole number)")),
        },
        Ty::Seconds => match v.as_u64() {
            Some(n) if n > 0 => Ok(()),
            _ => Err(ApiError::value(format!(
                "`{}` must be a positive whole number of seconds",
                f.name
            ))),
        },
        Ty::Time => {
            let s = v
                .as_str()
                .ok_or_else(|| wrong_type("a date and time (RFC 3339)"))?;
            chrono::DateTime::parse_from_rfc3339(s).map(|_| ()).map_err(|_| {
                ApiError::value(format!(
                    "`{}` must be an RFC 3339 date and time such as 2030-01-31T18:00:00Z, not {s:?}",
                    f.name
                ))
            })
        }
        Ty::Ipv4OrAuto => {
            let s = v.as_str().ok_or_else(|| wrong_type("a string"))?;
            if s == "auto" || s.parse::<Ipv4Addr>().is_ok() {
                Ok(())
            } else {
                Err(ApiError::value(format!(
                    "`{}` must be an IPv4 address (dotted quad, no leading zeros) or \"auto\", not {s:?}",
                    f.name
                )))
            }
        }
        Ty::Mac => {
            let s = v.as_str().ok_or_else(|| wrong_type("a string"))?;
            s.parse::<mr_provisioner_core::mac::MacAddr>()
                .map(|_| ())
                .map_err(|e| ApiError::value(format!("`{}`: {e}", f.name)))
        }
    }
}

impl Schema {
    /// Checks `value` against this schema.
    pub(crate) fn check(&self, value: Value) -> Result<Body, ApiError> {
        let Value::Object(map) = value else {
            return Err(ApiError::Schema(
                SchemaKind::UnexpectedType,
                format!("the body must be a JSON object, not {}", type_name(&value)),
            ));
        };
        let missing: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| f.required && !map.contains_key(f.name))
            .map(|f| f.name)
            .collect();
        if !missing.is_empty() {
            let keys: Vec<String> = missing.iter().map(|k| format!("'{k}'")).collect();
            return Err(ApiError::Schema(
                SchemaKind::MissingKey,
                format!("Missing keys: {}", keys.join(", ")),
            ));
        }
        if self.strict {
            let mut wrong: Vec<&String> = map
                .keys()
                .filter(|k| !self.fields.iter().any(|f| f.name == k.as_str()))
                .collect();
            if !wrong.is_empty() {
                wrong.sort();
                let keys: Vec<String> = wrong.iter().map(|k| format!("'{k}'")).collect();
                return Err(ApiError::Schema(
                    SchemaKind::WrongKey,
                    format!("Wrong keys {}", keys.join(", ")),
                ));
            }
        }
        for f in self.fields {
            if let Some(v) = map.get(f.name) {
                check_field(f, v)?;
            }
        }
        // Lenient schemas drop what they do not know, as the original did.
        let known: Map<String, Value> = map
            .into_iter()
            .filter(|(k, _)| self.fields.iter().any(|f| f.name == k.as_str()))
            .collect();
        Ok(Body(known))
    }
}

impl Body {
    /// Whether the key was given (even as null).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// A boolean field.
    pub(crate) fn bool(&self, key: &str) -> Option<bool> {
        self.0.get(key).and_then(Value::as_bool)
    }

    /// A string field: `None` if absent, `Some(None)` if null.
    pub(crate) fn str(&self, key: &str) -> Option<Option<String>> {
        self.0.get(key).map(|v| v.as_str().map(str::to_string))
    }

    /// A non-null string field.
    pub(crate) fn string(&self, key: &str) -> Option<String> {
        self.str(key).flatten()
    }

    /// An id field: `None` if absent, `Some(None)` if null.
    pub(crate) fn id(&self, key: &str) -> Option<Option<i64>> {
        self.0.get(key).map(id_of)
    }

    /// A seconds field.
    pub(crate) fn seconds(&self, key: &str) -> Option<u64> {
        self.0.get(key).and_then(Value::as_u64)
    }

    /// A time field: `None` if absent, `Some(None)` if null.
    pub(crate) fn time(&self, key: &str) -> Option<Option<mr_provisioner_core::model::Timestamp>> {
        self.0.get(key).map(|v| {
            v.as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
        })
    }

    /// A MAC field.
    pub(crate) fn mac(&self, key: &str) -> Option<mr_provisioner_core::mac::MacAddr> {
        self.string(key).and_then(|s| s.parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const POWER: Schema = Schema {
        fields: &[req("state", Ty::OneOf(&["on", "off"]))],
        strict: true,
    };
    const MACHINE: Schema = Schema {
        fields: &[
            opt("netboot_enabled", Ty::Bool),
            opt_null("kernel_id", Ty::Id),
            opt("kernel_opts", Ty::Str(0, 1024)),
            opt_null("subarch", Ty::Str(0, 256)),
        ],
        strict: false,
    };

    fn kind(r: Result<Body, ApiError>) -> Option<SchemaKind> {
        match r {
            Err(ApiError::Schema(k, _)) => Some(k),
            Err(other) => panic!("{other:?}"),
            Ok(_) => None,
        }
    }

    #[test]
    fn table() {
        use SchemaKind::*;
        let cases = [
            (POWER, json!({"state": "on"}), None),
            (POWER, json!({}), Some(MissingKey)),
            (POWER, json!({"state": "on", "x": 1}), Some(WrongKey)),
            (POWER, json!({"state": "bogus"}), Some(Value)),
            (POWER, json!({"state": 1}), Some(UnexpectedType)),
            (POWER, json!({"state": null}), Some(UnexpectedType)),
            (POWER, json!([1]), Some(UnexpectedType)),
            (POWER, json!("on"), Some(UnexpectedType)),
            (MACHINE, json!({}), None),
            (MACHINE, json!({"unknown": 1, "name": "x"}), None),
            (
                MACHINE,
                json!({"netboot_enabled": "yes"}),
                Some(UnexpectedType),
            ),
            (MACHINE, json!({"netboot_enabled": 1}), Some(UnexpectedType)),
            (MACHINE, json!({"kernel_id": null}), None),
            (MACHINE, json!({"kernel_id": "7"}), None),
            (MACHINE, json!({"kernel_id": " 7 "}), None),
            (MACHINE, json!({"kernel_id": 2.9}), Some(Value)),
            (MACHINE, json!({"kernel_id": true}), Some(UnexpectedType)),
            (MACHINE, json!({"kernel_id": "x"}), Some(Value)),
            (MACHINE, json!({"kernel_id": [1]}), Some(UnexpectedType)),
            (MACHINE, json!({"kernel_opts": null}), Some(UnexpectedType)),
            (
                MACHINE,
                json!({"kernel_opts": "x".repeat(1025)}),
                Some(Value),
            ),
            (MACHINE, json!({"subarch": null}), None),
        ];
        for (schema, body, want) in cases {
            assert_eq!(kind(schema.check(body.clone())), want, "{body}");
        }
    }

    #[test]
    fn accessors_keep_absent_and_null_apart() {
        let b = MACHINE
            .check(json!({"kernel_id": null, "subarch": "efi", "ignored": true}))
            .unwrap();
        assert_eq!(b.id("kernel_id"), Some(None));
        assert_eq!(b.id("nope"), None);
        assert_eq!(b.str("subarch"), Some(Some("efi".into())));
        assert!(!b.has("ignored"));
        let b = MACHINE.check(json!({"kernel_id": "12"})).unwrap();
        assert_eq!(b.id("kernel_id"), Some(Some(12)));
    }

    #[test]
    fn messages() {
        let e = POWER
            .check(json!({"state": "on", "b": 1, "a": 2}))
            .unwrap_err();
        assert_eq!(e.to_string(), "Wrong keys 'a', 'b'");
        let e = POWER.check(json!({})).unwrap_err();
        assert_eq!(e.to_string(), "Missing keys: 'state'");
    }
}
