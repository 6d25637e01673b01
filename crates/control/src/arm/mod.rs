//! Azure Resource Manager mechanics, once for every resource type: the error type, request
//! paths and route templates ([`path`]), api-version ([`version`]), etags and preconditions
//! ([`etag`]), the long-running-operation protocol ([`lro`]), paging ([`paging`]), regions
//! ([`region`]) and resource ids in bodies ([`id`]).
//!
//! Nothing here knows HTTP types: a handler answers an [`Outcome`] or an [`ArmError`], and
//! `crate::http` maps both to responses in one place.

pub mod etag;
pub mod id;
pub mod lro;
pub mod paging;
pub mod path;
pub mod region;
pub mod version;

use serde_json::Value;

pub use path::{Params, Verb};

// ===== errors =====

/// The HTTP status class of an [`ArmError`], named for what went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    Conflict,
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    Internal,
    Unavailable,
}

impl Status {
    /// The HTTP status code.
    pub fn code(self) -> u16 {
        match self {
            Status::BadRequest => 400,
            Status::Unauthorized => 401,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::RequestTimeout => 408,
            Status::Conflict => 409,
            Status::PreconditionFailed => 412,
            Status::PayloadTooLarge => 413,
            Status::UnsupportedMediaType => 415,
            Status::Internal => 500,
            Status::Unavailable => 503,
        }
    }
}

/// An ARM error: a status plus `{"error":{"code","message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ArmError {
    pub status: Status,
    pub code: &'static str,
    pub message: String,
}

impl ArmError {
    pub fn new(status: Status, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with a validation code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Status::BadRequest, code, message)
    }

    /// 404 `ResourceNotFound`: also what another tenant's resource answers.
    pub fn not_found(kind: &str, name: &str) -> Self {
        Self::new(
            Status::NotFound,
            "ResourceNotFound",
            format!("The Resource '{kind}/{name}' was not found."),
        )
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Status::Conflict, code, message)
    }

    pub fn method_not_allowed(verb: Verb) -> Self {
        Self::new(
            Status::MethodNotAllowed,
            "MethodNotAllowed",
            format!(
                "The method {} is not allowed on this resource.",
                verb.as_str()
            ),
        )
    }

    /// 500 that says nothing about the cause (logged once by the caller).
    pub fn internal() -> Self {
        Self::new(
            Status::Internal,
            "InternalServerError",
            "An internal error occurred; the request changed nothing.",
        )
    }

    /// The error body.
    pub fn body(&self) -> Value {
        serde_json::json!({"error": {"code": self.code, "message": self.message}})
    }
}

impl From<crate::store::StoreError> for ArmError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Unique { scope, .. } => ArmError::conflict(
                "Conflict",
                format!("Another resource already holds this {scope}; retry the request."),
            ),
            e => {
                tracing::error!("store failure: {e}");
                ArmError::internal()
            }
        }
    }
}

/// Results of ARM handlers.
pub type R<T> = Result<T, ArmError>;

// ===== outcomes =====

/// A JSON body: serialized straight from a typed DTO, or a value built in place.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Text(String),
    Value(Value),
}

impl Body {
    /// A typed body, serialized once (no intermediate `Value`).
    pub fn of<T: serde::Serialize>(t: &T) -> Body {
        Body::Text(serde_json::to_string(t).unwrap_or_else(|_| "{}".into()))
    }

    pub fn into_string(self) -> String {
        match self {
            Body::Text(s) => s,
            Body::Value(v) => v.to_string(),
        }
    }
}

impl From<Value> for Body {
    fn from(v: Value) -> Body {
        Body::Value(v)
    }
}

/// What a handler answers; `crate::http` turns it into a response.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// 200 with a body.
    Ok(Body),
    /// A PUT's result: 201 if `created`, else 200, with the resource and, for a
    /// long-running operation, where to poll.
    Written {
        created: bool,
        body: Body,
        lro: Option<lro::Lro>,
    },
    /// 202 with where to poll (DELETE and POST actions).
    Accepted(lro::Lro),
    /// 204.
    NoContent,
}
