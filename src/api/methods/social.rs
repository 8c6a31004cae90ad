//! followers, following, toggle_follow, last_shouts, timeline, friends_timeline.

use crate::api::error::ApiError;
use crate::api::reply::{Document, Reply};
use crate::api::Request;
use crate::params::Params;
use crate::store::sessions::Session;
use crate::store::social::TimelineOf;
use crate::store::users::User;

/// How many shouts or activities a list shows by default (Ampache's popular_threshold).
const DEFAULT_COUNT: i64 = 10;

async fn named_user(request: &Request<'_>, params: &Params) -> Result<User, ApiError> {
    let username = params.require("username")?;
    request
        .state
        .store
        .user_by_name(username)
        .await?
        .ok_or_else(|| ApiError::user_cannot_be_found(username))
}

fn count(params: &Params) -> Result<i64, ApiError> {
    match params.get("limit") {
        None => Ok(DEFAULT_COUNT),
        Some(_) => Ok(params.paging()?.limit.unwrap_or(i64::MAX)),
    }
}

pub async fn followers(request: &Request<'_>, params: &Params) -> Result<Reply, ApiError> {
    let user = named_user(request, params).await?;
    let users = request.state.store.followers(user.id).await?;
    if users.is_empty() {
        return Err(ApiError::no_followers(&user.username));
    }
    Ok(Reply::Document(Document::Users(users)))
}

pub async fn following(request: &Request<'_>, params: &Params) -> Result<Reply, ApiError> {
    let user = named_user(request, params).await?;
    let users = request.state.store.following(user.id).await?;
    if users.is_empty() {
        return Err(ApiError::follows_nobody(&user.username));
    }
    Ok(Reply::Document(Document::Users(users)))
}

pub async fn toggle_follow(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let user = named_user(request, params).await?;
    if user.id == session.user.id {
        return Err(ApiError::cannot_follow_self());
    }
    request
        .state
        .store
        .toggle_follow(session.user.id, user.id)
        .await?;
    Ok(Reply::Document(Document::Success(format!(
        "follow toggled for: {}",
        user.id
    ))))
}

pub async fn last_shouts(request: &Request<'_>, params: &Params) -> Result<Reply, ApiError> {
    let author = match params.get("username") {
        Some(_) => Some(named_user(request, params).await?.id),
        None => None,
    };
    let shouts = request.state.store.shouts(author, count(params)?).await?;
    Ok(Reply::Document(Document::Shouts(shouts)))
}

fn since(params: &Params) -> Result<i64, ApiError> {
    match params.integer("since")? {
        None => Ok(0),
        Some(t) if t >= 0 => Ok(t),
        Some(_) => Err(ApiError::bad_parameter("since", "expected a Unix time")),
    }
}

pub async fn timeline(request: &Request<'_>, params: &Params) -> Result<Reply, ApiError> {
    let user = named_user(request, params).await?;
    let activity = request
        .state
        .store
        .timeline(TimelineOf::User(user.id), since(params)?, count(params)?)
        .await?;
    Ok(Reply::Document(Document::Timeline(activity)))
}

pub async fn friends_timeline(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let activity = request
        .state
        .store
        .timeline(
            TimelineOf::FollowedBy(session.user.id),
            since(params)?,
            count(params)?,
        )
        .await?;
    Ok(Reply::Document(Document::Timeline(activity)))
}
