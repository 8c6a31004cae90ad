//! User methods.

use crate::api::error::ApiError;
use crate::api::params::Params;
use crate::api::reply::{Document, Reply, UserView};
use crate::api::Request;
use crate::store::sessions::Session;
use crate::store::users::access;

/// `user`: one user by name; private fields only for yourself or an admin.
pub async fn user(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let username = params.require("username")?;
    let user = request
        .state
        .store
        .user_by_name(username)
        .await?
        .ok_or_else(|| ApiError::new(404, "Library item not found"))?;
    let full = user.id == session.user.id || session.user.access >= access::ADMIN;
    Ok(Reply::Document(Document::User(UserView { user, full })))
}
