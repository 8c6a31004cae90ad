//! handshake, ping and goodbye (spec section 2).

use crate::api::error::ApiError;
use crate::api::reply::{Document, Handshake, Ping, Reply, ServerStats};
use crate::api::throttle::Guard;
use crate::api::Request;
use crate::params::Params;
use crate::store::acl::{AclDecision, AclKind};
use crate::store::now;
use crate::store::sessions::NewSession;
use crate::store::users::{apikey_auth, same_secret, sha256_hex, User};

/// The oldest API version a client may ask for.
const COMPATIBLE: i64 = 350001;

pub async fn handshake(request: &Request<'_>, params: &Params) -> Result<Reply, ApiError> {
    let auth = params.require("auth")?.trim().to_ascii_lowercase();
    let settings = &request.state.settings;
    let default_version = parse_version(&settings.api_version).unwrap_or(400004);
    let version = match params.get("version") {
        None => default_version,
        Some(text) => match parse_version(text) {
            Some(v) if v >= COMPATIBLE => v,
            _ => return Err(ApiError::bad_handshake()),
        },
    };
    let guard = Guard::check(request, params.get("user")).await?;
    let user = match authenticate(request, params, &auth).await {
        Ok(user) => user,
        // Refused credentials (401) count as failures; a store failure does not.
        Err(e) if e.code == 401 => {
            guard.failed(request).await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    guard.succeeded(request).await?;
    // Every refusal looks the same to the client, so a handshake reveals nothing about
    // which part failed; the log says.
    if user.disabled {
        tracing::info!(user = %user.username, "handshake refused: user disabled");
        return Err(ApiError::bad_handshake());
    }
    if request.acl(AclKind::Api, Some(user.id)).await? == AclDecision::Denied {
        tracing::info!(user = %user.username, ip = %request.ip, "handshake refused by ACL");
        return Err(ApiError::bad_handshake());
    }
    let details = NewSession {
        agent: params
            .get("client")
            .map(|c| c.chars().take(255).collect())
            .unwrap_or_else(|| request.user_agent()),
        ip: request.ip.to_string(),
        api_version: version,
        geo_latitude: params.get("geo_latitude").map(str::to_string),
        geo_longitude: params.get("geo_longitude").map(str::to_string),
        geo_name: params.get("geo_name").map(str::to_string),
    };
    let store = &request.state.store;
    let session = store
        .create_session(&user, &details, settings.session_length)
        .await?;
    Ok(Reply::Document(Document::Handshake(Handshake {
        auth: session.token,
        // Ampache reports a minute less than the real lifetime, so clients renew early.
        session_expire: session.expire - 60,
        stats: server_stats(request, &user).await?,
    })))
}

/// Finds the user the credentials belong to: password passphrase with `user` and
/// `timestamp` (each pair accepted once); otherwise an API key, plain or hashed, with
/// or without `user`; or a live session token. Keys and tokens are found by their
/// hashes, the only form the store keeps; comparisons take constant time.
async fn authenticate(
    request: &Request<'_>,
    params: &Params,
    auth: &str,
) -> Result<User, ApiError> {
    let store = &request.state.store;
    let timestamp: String = params
        .get("timestamp")
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if let Some(username) = params.get("user") {
        let user = store
            .user_by_name(username)
            .await?
            .ok_or_else(ApiError::bad_handshake)?;
        if !timestamp.is_empty() {
            let stamp: i64 = timestamp
                .parse()
                .map_err(|_| ApiError::timestamp_out_of_range())?;
            if (now() - stamp).abs() > request.state.settings.timestamp_window {
                return Err(ApiError::timestamp_out_of_range());
            }
            let expected = sha256_hex(&format!("{timestamp}{}", user.password_hash));
            if !same_secret(&expected, auth) {
                return Err(ApiError::bad_handshake());
            }
            // A pair seen before is a replay (of a captured URL, a log line...): the
            // store remembers used pairs while their timestamp is in the window, for
            // every process on the database.
            let expire = stamp + request.state.settings.timestamp_window + 1;
            if !store.use_handshake(&timestamp, auth, expire).await? {
                tracing::info!(user = %user.username, ip = %request.ip, "handshake refused: replayed timestamp and auth");
                return Err(ApiError::bad_handshake());
            }
            return Ok(user);
        }
        if let Some(key_hash) = &user.apikey_hash {
            let plain = same_secret(&sha256_hex(auth), key_hash);
            let hashed = same_secret(&apikey_auth(&user.username, key_hash), auth);
            if plain | hashed {
                return Ok(user);
            }
        }
        return Err(ApiError::bad_handshake());
    }
    if let Some(user) = store.user_by_apikey(auth).await? {
        return Ok(user);
    }
    if let Some(user) = store.user_by_apikey_auth(auth).await? {
        return Ok(user);
    }
    if let Some(session) = store.session(auth).await? {
        return Ok(session.user);
    }
    Err(ApiError::bad_handshake())
}

pub async fn ping(request: &Request<'_>, params: &Params) -> Result<Reply, ApiError> {
    let store = &request.state.store;
    let settings = &request.state.settings;
    let requested_version = match params.get("version") {
        None => None,
        Some(text) => Some(
            parse_version(text)
                .filter(|v| *v >= COMPATIBLE)
                .ok_or_else(|| {
                    ApiError::bad_parameter("version", "not an API version this server speaks")
                })?,
        ),
    };
    let mut session_part = None;
    if let Some(token) = request.token(params) {
        if let Some(session) = store.session(token).await? {
            let allowed = !session.user.disabled
                && request.acl(AclKind::Api, Some(session.user.id)).await? != AclDecision::Denied;
            if allowed {
                // Written when the expiry moves by a minute or more, or the version
                // changes (as every authenticated request does): the expiry
                // reported is never later than the one stored.
                let expire = now() + settings.session_length;
                let new_version = requested_version.filter(|v| *v != session.api_version);
                if expire - session.expire >= 60 || new_version.is_some() {
                    store
                        .extend_session(&session.token, expire, new_version)
                        .await?;
                }
                session_part = Some((expire - 60, server_stats(request, &session.user).await?));
            }
        }
    }
    Ok(Reply::Document(Document::Ping(Ping {
        session: session_part,
        server: env!("CARGO_PKG_VERSION").to_string(),
        version: settings.api_version.clone(),
        compatible: COMPATIBLE.to_string(),
    })))
}

pub async fn goodbye(request: &Request<'_>, params: &Params) -> Result<Reply, ApiError> {
    let token = request
        .token(params)
        .ok_or_else(|| ApiError::missing("auth"))?;
    if request.state.store.end_session(token).await? {
        Ok(Reply::Document(Document::Success(format!(
            "goodbye: {token}"
        ))))
    } else {
        Err(ApiError::failed("end session", token))
    }
}

async fn server_stats(request: &Request<'_>, user: &User) -> Result<ServerStats, ApiError> {
    let summary = request
        .state
        .store
        .summary(user.id, user.access >= crate::store::users::access::ADMIN)
        .await?;
    let (counts, stamps) = (summary.counts, summary.stamps);
    Ok(ServerStats {
        api: request.state.settings.api_version.clone(),
        update: stamps.last_update,
        add: stamps.last_add,
        clean: stamps.last_clean,
        songs: counts.songs,
        albums: counts.albums,
        artists: counts.artists,
        playlists: summary.playlists,
        videos: counts.videos,
        catalogs: counts.catalogs,
        users: counts.users,
        tags: counts.genres,
    })
}

/// An API version as clients send it: `400004`, or a release such as `4.2.0` (→ 420000).
pub fn parse_version(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.contains('.') {
        let mut parts = text.split('.').map(|p| p.parse::<i64>().ok());
        let major = parts.next()??;
        let minor = parts.next().unwrap_or(Some(0))?;
        let patch = parts.next().unwrap_or(Some(0))?;
        if !(0..100).contains(&major) || !(0..10).contains(&minor) || !(0..10).contains(&patch) {
            return None;
        }
        return Some(major * 100_000 + minor * 10_000 + patch * 1000);
    }
    if text.is_empty() || text.len() > 9 || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn versions() {
        assert_eq!(parse_version("400004"), Some(400004));
        assert_eq!(parse_version("4.2.0"), Some(420000));
        assert_eq!(parse_version("6.0.0"), Some(600000));
        assert_eq!(parse_version("abc"), None);
        assert_eq!(parse_version("99999999999999"), None);
    }
}
