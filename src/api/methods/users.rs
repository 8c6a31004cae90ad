//! User methods.

use crate::api::error::ApiError;
use crate::api::reply::{Document, Reply, UserView};
use crate::api::Request;
use crate::params::Params;
use crate::store::sessions::Session;
use crate::store::users::{access, sha256_hex, NewUser, UserChanges};

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
        .ok_or_else(ApiError::not_found)?;
    let full = user.id == session.user.id || session.user.access >= access::ADMIN;
    Ok(Reply::Document(Document::User(UserView {
        user: user.public(),
        full,
    })))
}

fn success(message: String) -> Result<Reply, ApiError> {
    Ok(Reply::Document(Document::Success(message)))
}

/// API4 sends passwords as hex SHA-256; a client that sends the plain text gets it
/// hashed rather than an account nobody can log into.
fn password_hash(text: &str) -> String {
    if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        text.to_ascii_lowercase()
    } else {
        sha256_hex(text)
    }
}

fn plausible_email(text: &str) -> bool {
    let text = text.trim();
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !text.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// `user_create` (admin): username, password (hex SHA-256), email; fullname, disable.
pub async fn user_create(request: &Request<'_>, params: &Params) -> Result<Reply, ApiError> {
    let username = params.require("username")?;
    let password = params.require("password")?;
    let email = params.require("email")?;
    let failed = || ApiError::failed("create", username);
    if !plausible_email(email) {
        return Err(failed());
    }
    let disabled = params.boolean("disable")?.unwrap_or(false);
    let new = NewUser {
        username,
        fullname: params.get("fullname").unwrap_or(username),
        email,
        password_hash: &password_hash(password),
        access: access::USER,
        disabled,
    };
    match request.state.store.create_user_hashed(&new).await {
        Ok(_) => success(format!("successfully created: {username}")),
        Err(
            e @ (crate::store::StoreError::Engine(_) | crate::store::StoreError::Unavailable(_)),
        ) => Err(e.into()),
        Err(_) => Err(failed()),
    }
}

/// `user_update` (admin): changes fields of `username`; an admin's password cannot be
/// changed this way.
pub async fn user_update(request: &Request<'_>, params: &Params) -> Result<Reply, ApiError> {
    let username = params.require("username")?;
    let store = &request.state.store;
    let user = store
        .user_by_name(username)
        .await?
        .ok_or_else(|| ApiError::failed("update", username))?;
    let password = params.get("password");
    if password.is_some() && user.access >= access::ADMIN {
        return Err(ApiError::admin_password_refused(username));
    }
    let max_bitrate = params.integer("maxbitrate")?;
    if let Some(bitrate) = max_bitrate {
        if bitrate <= 0 {
            return Err(ApiError::bad_parameter(
                "maxbitrate",
                "must be a positive number of kbit/s",
            ));
        }
    }
    let changes = UserChanges {
        fullname: params.get("fullname").map(str::to_string),
        email: params
            .get("email")
            .filter(|e| plausible_email(e))
            .map(str::to_string),
        website: params.get("website").map(str::to_string),
        state: params.get("state").map(str::to_string),
        city: params.get("city").map(str::to_string),
        password_hash: password.map(password_hash),
        disabled: params.boolean("disable")?,
    };
    store.update_user(&user, &changes).await?;
    if let Some(bitrate) = max_bitrate {
        // Clients send kbit/s or, as later Ampache documents, bit/s (spec 5.12).
        let kbps = if bitrate >= 1000 {
            bitrate / 1000
        } else {
            bitrate
        };
        store.set_user_max_bitrate(user.id, kbps).await?;
    }
    success(format!("successfully updated: {username}"))
}

/// `user_delete` (admin): never yourself, never an admin.
pub async fn user_delete(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let username = params.require("username")?;
    let store = &request.state.store;
    let failed = || ApiError::failed("delete", username);
    let user = store.user_by_name(username).await?.ok_or_else(failed)?;
    if user.id == session.user.id || user.access >= access::ADMIN {
        return Err(failed());
    }
    store.delete_user(&user).await?;
    success(format!("successfully deleted: {username}"))
}
