//! The one place that knows Ampache's error codes (section 3 of the spec): every
//! error a method reports is one of the constructors here, by meaning.

/// An Ampache API error: a code and an English message, sent with HTTP 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: u16,
    pub message: String,
}

impl ApiError {
    fn new(code: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// 401: the handshake's credentials were refused.
    pub fn bad_handshake() -> ApiError {
        ApiError::new(
            401,
            "Received Invalid Handshake - Incorrect username or password",
        )
    }

    pub fn timestamp_out_of_range() -> ApiError {
        ApiError::new(
            401,
            "Received Invalid Handshake - Login failed, timestamp is out of range",
        )
    }

    /// 401: handshakes refused for a while after too many failures from this address
    /// (or for this user from an address that failed too). Ampache 4 had no such
    /// limit; the code is the handshake's, which every client handles, with a message
    /// a person can act on.
    pub fn too_many_failures() -> ApiError {
        ApiError::new(
            401,
            "Received Invalid Handshake - Too many failed attempts, try again later",
        )
    }

    /// 401: no session, or an expired one.
    pub fn session_expired() -> ApiError {
        ApiError::new(401, "Session Expired")
    }

    /// 401: a required parameter is absent or empty.
    pub fn missing(name: &str) -> ApiError {
        ApiError::new(401, format!("Missing mandatory parameter '{name}'"))
    }

    /// 401: a parameter is present but unusable.
    pub fn bad_parameter(name: &str, why: &str) -> ApiError {
        ApiError::new(401, format!("Invalid parameter '{name}': {why}"))
    }

    /// 400: more parameters than any method takes; refused before reading them all.
    pub fn too_many_parameters(max: usize) -> ApiError {
        ApiError::new(400, format!("Bad Request: more than {max} parameters"))
    }

    /// 403: the client's address is not allowed by the ACLs.
    pub fn acl_denied() -> ApiError {
        ApiError::new(403, "Unauthorized access attempt to API - ACL Error")
    }

    /// 400: the user's access level is below the method's.
    pub fn access_denied() -> ApiError {
        ApiError::new(400, "User does not have access to this function")
    }

    /// 405: no such method.
    pub fn invalid_request() -> ApiError {
        ApiError::new(405, "Invalid Request")
    }

    /// 501: the API is switched off.
    pub fn access_control_disabled() -> ApiError {
        ApiError::new(501, "Access Control not Enabled")
    }

    // ---- what the methods report, by meaning ----

    /// 404: no such song, album, artist, playlist, user, ...
    pub fn not_found() -> ApiError {
        ApiError::new(404, "Library item not found")
    }

    /// 404: record_play / scrobble / stats for a user that does not exist.
    pub fn user_id_not_found() -> ApiError {
        ApiError::new(404, "User_id not found")
    }

    /// 404: stats with nothing to list.
    pub fn no_results() -> ApiError {
        ApiError::new(404, "No Results")
    }

    /// 404: playlist_remove_song of a song the playlist does not hold.
    pub fn song_not_in_playlist() -> ApiError {
        ApiError::new(404, "Song not found in playlist")
    }

    /// 404: playlist_remove_song of a track past the end.
    pub fn track_not_in_playlist() -> ApiError {
        ApiError::new(404, "Track ID not found in playlist")
    }

    /// 401: a `type` the method does not take (shown printable, at most 64 chars).
    pub fn wrong_object_type(text: &str) -> ApiError {
        let shown: String = text.chars().filter(|c| !c.is_control()).take(64).collect();
        ApiError::new(401, format!("Incorrect object type {shown}"))
    }

    /// 401: a rating outside 0–5.
    pub fn bad_rating(text: &str) -> ApiError {
        let shown: String = text.chars().filter(|c| !c.is_control()).take(64).collect();
        ApiError::new(
            401,
            format!("Ratings must be between [0-5]. {shown} is invalid"),
        )
    }

    /// 401: a playlist the caller may not read or change.
    pub fn playlist_denied() -> ApiError {
        ApiError::new(401, "Access denied to this playlist")
    }

    /// 401: playlist_edit with nothing to change.
    pub fn nothing_changed() -> ApiError {
        ApiError::new(401, "Nothing was changed")
    }

    /// 401: a scrobble that names no known song.
    pub fn scrobble_not_found() -> ApiError {
        ApiError::new(401, "Failed to scrobble: No item found!")
    }

    /// 400: playlist_add_song with check=1 of a song already there.
    pub fn duplicate_in_playlist() -> ApiError {
        ApiError::new(400, "Can't add a duplicate item when check is enabled")
    }

    /// 400: a user method that could not `action` (create, update, delete) `subject`.
    pub fn failed(action: &str, subject: &str) -> ApiError {
        ApiError::new(400, format!("failed to {action}: {subject}"))
    }

    /// 400: user_update of an admin's password.
    pub fn admin_password_refused(username: &str) -> ApiError {
        ApiError::new(
            400,
            format!("Do not update passwords for admin users! {username}"),
        )
    }

    /// 400: a social method naming an unknown user.
    pub fn user_cannot_be_found(username: &str) -> ApiError {
        ApiError::new(400, format!("User `{username}` cannot be found."))
    }

    /// 400: followers of someone nobody follows.
    pub fn no_followers(username: &str) -> ApiError {
        ApiError::new(400, format!("User `{username}` has no followers."))
    }

    /// 400: following of someone who follows nobody.
    pub fn follows_nobody(username: &str) -> ApiError {
        ApiError::new(400, format!("User `{username}` does not follow anyone."))
    }

    /// 400: toggle_follow of oneself.
    pub fn cannot_follow_self() -> ApiError {
        ApiError::new(400, "You cannot follow yourself")
    }

    /// 405: localplay on a server with no localplay instance configured.
    pub fn localplay_not_configured() -> ApiError {
        ApiError::new(405, "Localplay is not configured on this server")
    }

    /// 405: the localplay player (MPD) could not be reached or did not answer.
    pub fn localplay_unreachable() -> ApiError {
        ApiError::new(405, "Unable to connect to localplay controller")
    }

    /// 400: democratic vote or devote of no song, or of an unknown one.
    pub fn media_invalid() -> ApiError {
        ApiError::new(400, "Media object invalid or not specified")
    }

    /// 401: catalog_action or catalog_file with a task it does not know.
    pub fn bad_catalog_task(text: &str) -> ApiError {
        let shown: String = text.chars().filter(|c| !c.is_control()).take(64).collect();
        ApiError::new(401, format!("Incorrect catalog task {shown}"))
    }

    /// 404: catalog_action, catalog_file, update_from_tags, update_art or
    /// update_artist_info naming a catalog or object that does not exist (their
    /// wording, not `Library item not found`).
    pub fn requested_item_not_found() -> ApiError {
        ApiError::new(404, "The requested item was not found")
    }

    /// 400: update_art, update_artist_info or get_similar found nothing, has no
    /// service to ask, or the service failed; `reason` says which.
    pub fn maintenance_failed(method: &str, id: i64, reason: &str) -> ApiError {
        ApiError::new(400, format!("Failed to {method} for {id}: {reason}"))
    }

    /// 400: the database cannot be reached (PostgreSQL down or restarting). API4 has
    /// no code for a failure of the server itself: 400 is the code of its other
    /// failures (`failed to ...`), a client shows the message, and it is not 401,
    /// which clients take for a lost session and answer with a new handshake (that
    /// would fail too). The session is still valid once the database is back.
    pub fn database_unavailable() -> ApiError {
        ApiError::new(400, "The database is not available; try again shortly")
    }

    /// An internal failure, reported without details (they go to the log).
    pub fn internal() -> ApiError {
        ApiError::new(
            400,
            "The server could not complete the request; see its log",
        )
    }
}

/// Parameter errors, as Ampache reports them.
impl From<crate::model::ParamError> for ApiError {
    fn from(error: crate::model::ParamError) -> ApiError {
        use crate::model::ParamError;
        match error {
            ParamError::Missing(name) => ApiError::missing(&name),
            ParamError::Bad { name, why } => ApiError::bad_parameter(&name, &why),
            ParamError::TooMany(max) => ApiError::too_many_parameters(max),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> ApiError {
        use crate::store::StoreError;
        match error {
            StoreError::Engine(e) => {
                tracing::error!("store error: {e}");
                ApiError::internal()
            }
            StoreError::Unavailable(e) => {
                tracing::error!("database unavailable: {e}");
                ApiError::database_unavailable()
            }
            // The client learns which object is broken (it can delete it); the
            // log has the details.
            StoreError::Unreadable(m) => {
                tracing::error!("store error: {m}");
                ApiError::new(400, m)
            }
            StoreError::Duplicate(m) | StoreError::Conflict(m) | StoreError::Invalid(m) => {
                ApiError::new(400, m)
            }
        }
    }
}
