//! The API methods, one file per group, and the table of what each requires.

mod session;
mod users;
pub use session::parse_version;

use super::error::ApiError;
use super::params::Params;
use super::reply::Reply;
use super::Request;
use crate::store::sessions::Session;

/// How a method deals with the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionNeed {
    /// The dispatcher requires a live session before calling the method.
    Required,
    /// The method handles credentials itself (handshake, ping, goodbye).
    Own,
}

#[derive(Debug)]
pub struct Method {
    pub name: &'static str,
    pub session: SessionNeed,
    /// The lowest user access level allowed to call it.
    pub min_access: i64,
}

/// A method that handles credentials itself.
const fn own(name: &'static str) -> Method {
    Method {
        name,
        session: SessionNeed::Own,
        min_access: 0,
    }
}

/// A method that needs a live session and at least `min_access`.
const fn with_session(name: &'static str, min_access: i64) -> Method {
    Method {
        name,
        session: SessionNeed::Required,
        min_access,
    }
}

/// Every method this server answers; anything else is 405.
const METHODS: &[Method] = &[
    own("handshake"),
    own("ping"),
    own("goodbye"),
    with_session("user", 0),
];

pub fn lookup(action: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == action)
}

pub async fn call(
    request: &Request<'_>,
    method: &Method,
    session: Option<&Session>,
    params: &Params,
) -> Result<Reply, ApiError> {
    match method.name {
        "handshake" => session::handshake(request, params).await,
        "ping" => session::ping(request, params).await,
        "goodbye" => session::goodbye(request, params).await,
        "user" => users::user(request, required(session)?, params).await,
        _ => Err(ApiError::invalid_request()),
    }
}

/// The session of a method the table marks [`SessionNeed::Required`].
fn required(session: Option<&Session>) -> Result<&Session, ApiError> {
    session.ok_or_else(ApiError::session_expired)
}
