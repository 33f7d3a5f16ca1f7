//! The one error type of the whole platform.
//!
//! Every layer (domain rules, store, server) returns this type, so that the HTTP layer can turn
//! any failure into the same `application/problem+json` shape (ARCHITECTURE principle 7) and a
//! command-line tool into the same message. Titles are Chinese because they reach a clerk or a
//! citizen as they are; `code` is the stable, English, snake_case key integrators match on.

use std::borrow::Cow;
use std::fmt;

/// What went wrong, as far as the caller needs to know: it picks the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The input is wrong; nothing was changed. 400 (or 422 for well-formed but invalid data).
    Invalid,
    /// Not authenticated. 401.
    Unauthorized,
    /// Authenticated but not allowed (role or scope). 403.
    Forbidden,
    /// The thing asked for does not exist. 404.
    NotFound,
    /// The request clashes with the current state (duplicate code, stale version). 409.
    Conflict,
    /// Too many attempts (login throttling, ticket limits). 429.
    TooMany,
    /// Something outside the request is missing, e.g. a calendar year that is not loaded. 503.
    Unavailable,
    /// A bug or an infrastructure failure. 500; the detail is logged, never shown.
    Internal,
}

/// One invalid field with a Chinese message a clerk understands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: Kind,
    /// Stable snake_case code, e.g. `invalid_id_number`.
    pub code: Cow<'static, str>,
    /// Chinese, shown to users.
    pub title: String,
    pub fields: Vec<FieldError>,
    /// Internal detail for logs only (never serialised to a client).
    pub detail: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, code: impl Into<Cow<'static, str>>, title: impl Into<String>) -> Self {
        Error {
            kind,
            code: code.into(),
            title: title.into(),
            fields: Vec::new(),
            detail: None,
        }
    }

    /// Bad input as a whole; add the fields with [`Error::field`].
    pub fn invalid(code: impl Into<Cow<'static, str>>, title: impl Into<String>) -> Self {
        Self::new(Kind::Invalid, code, title)
    }

    /// The usual "these fields are wrong" error.
    pub fn validation(fields: Vec<FieldError>) -> Self {
        let mut e = Self::invalid("validation_failed", "提交的内容有误，请按提示修改后重试");
        e.fields = fields;
        e
    }

    pub fn not_found(code: impl Into<Cow<'static, str>>, title: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, code, title)
    }

    pub fn conflict(code: impl Into<Cow<'static, str>>, title: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, code, title)
    }

    pub fn forbidden(title: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, "forbidden", title)
    }

    pub fn unauthorized() -> Self {
        Self::new(Kind::Unauthorized, "unauthorized", "请先登录")
    }

    /// A failure the user cannot fix; `detail` goes to the log only.
    pub fn internal(detail: impl fmt::Display) -> Self {
        let mut e = Self::new(
            Kind::Internal,
            "internal_error",
            "系统内部错误，请稍后重试或联系管理员",
        );
        e.detail = Some(detail.to_string());
        e
    }

    pub fn field(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        self.fields.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
        self
    }

    pub fn with_detail(mut self, detail: impl fmt::Display) -> Self {
        self.detail = Some(detail.to_string());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.title)?;
        for fe in &self.fields {
            write!(f, "；{}：{}", fe.field, fe.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Collects field errors while validating a whole input, so the user is told everything at once
/// (the same idea as the one-time notice: never make someone come back for the next problem).
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }
    pub fn check(&mut self, ok: bool, field: &str, message: &str) {
        if !ok {
            self.add(field, message);
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(())` when nothing was found, else a validation error listing every problem.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::validation(self.0))
        }
    }
}
