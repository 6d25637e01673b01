//! Reading request bodies: typed field access with path-aware errors, tags and resource
//! names. Every rule answers 400 with an ARM code on the request itself, before anything is
//! stored; each resource's own rules live in its module under `crate::resources`.

use serde_json::Value;

use crate::arm::ArmError;

type R<T> = Result<T, ArmError>;

fn bad(code: &'static str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, message)
}

/// The JSON object at `path` (dot-separated), if present and not null.
pub fn field<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in path.split('.') {
        cur = cur.get(part)?;
    }
    (!cur.is_null()).then_some(cur)
}

pub fn opt_str<'a>(v: &'a Value, path: &str) -> R<Option<&'a str>> {
    match field(v, path) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(
            "InvalidRequestFormat",
            format!("'{path}' must be a string."),
        )),
    }
}

pub fn req_str<'a>(v: &'a Value, path: &str) -> R<&'a str> {
    opt_str(v, path)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("InvalidRequestFormat", format!("'{path}' is required.")))
}

/// An integer field; numbers given as strings are accepted as clients sometimes send them.
pub fn opt_u64(v: &Value, path: &str) -> R<Option<u64>> {
    match field(v, path) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
            bad(
                "InvalidRequestFormat",
                format!("'{path}' must be a non-negative integer."),
            )
        }),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| {
            bad(
                "InvalidRequestFormat",
                format!("'{path}' must be an integer."),
            )
        }),
        Some(_) => Err(bad(
            "InvalidRequestFormat",
            format!("'{path}' must be an integer."),
        )),
    }
}

pub fn opt_bool(v: &Value, path: &str) -> R<Option<bool>> {
    match field(v, path) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad(
            "InvalidRequestFormat",
            format!("'{path}' must be true or false."),
        )),
    }
}

pub fn tags(v: &Value) -> R<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    match field(v, "tags") {
        None => {}
        Some(Value::Object(m)) => {
            if m.len() > 50 {
                return Err(bad(
                    "InvalidTagCount",
                    "A resource can have at most 50 tags.",
                ));
            }
            for (k, val) in m {
                let Value::String(s) = val else {
                    return Err(bad(
                        "InvalidRequestFormat",
                        format!("Tag '{k}' must have a string value."),
                    ));
                };
                if k.is_empty() || k.len() > 512 || s.len() > 256 {
                    return Err(bad(
                        "InvalidTagNameOrValue",
                        format!("Tag '{k}': names are 1-512 characters and values at most 256."),
                    ));
                }
                out.insert(k.clone(), s.clone());
            }
        }
        Some(_) => return Err(bad("InvalidRequestFormat", "'tags' must be an object.")),
    }
    Ok(out)
}

/// Resource names: 1-80 characters, letters, digits, '-', '_' and '.', not ending in '.'.
pub fn resource_name(kind: &str, name: &str) -> R<()> {
    let ok = !name.is_empty()
        && name.len() <= 80
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && !name.ends_with('.');
    if ok {
        Ok(())
    } else {
        Err(bad(
            "InvalidResourceName",
            format!(
                "Resource name '{name}' is invalid for {kind}: use 1-80 letters, digits, '-', '_' or '.', \
                 starting with a letter or digit and not ending with '.'."
            ),
        ))
    }
}

/// The allowed spelling of `value`, compared without regard to case.
pub fn canonical<'a>(value: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .copied()
        .find(|a| a.eq_ignore_ascii_case(value))
}

#[cfg(test)]
mod tests;
