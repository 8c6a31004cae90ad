//! The API methods, one file per group, and the table of what each requires.

mod session;
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

const METHODS: &[Method] = &[
    Method {
        name: "handshake",
        session: SessionNeed::Own,
        min_access: 0,
    },
    Method {
        name: "ping",
        session: SessionNeed::Own,
        min_access: 0,
    },
    Method {
        name: "goodbye",
        session: SessionNeed::Own,
        min_access: 0,
    },
];

pub fn lookup(action: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == action)
}

pub async fn call(
    request: &Request<'_>,
    method: &Method,
    _session: Option<&Session>,
    params: &Params,
) -> Result<Reply, ApiError> {
    match method.name {
        "handshake" => session::handshake(request, params).await,
        "ping" => session::ping(request, params).await,
        "goodbye" => session::goodbye(request, params).await,
        _ => Err(ApiError::invalid_request()),
    }
}
