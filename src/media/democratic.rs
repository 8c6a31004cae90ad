//! The democratic stream (`/play/index.php?ssid=..&uid=..&demo_id=1`, spec 5.17):
//! turned into the play parameters of the song it plays now, then served as any song.
//!
//! A request from the first byte starts the next song: the queue's head, taken off
//! the queue (its votes are spent, as in Ampache), or a random song of the base
//! playlist while nobody has voted. A request for the rest of a song (a Range past
//! byte 0) or a HEAD gets the song started last, so players that seek or probe do not
//! skip songs.

use std::net::IpAddr;

use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;

use super::{authenticate, store_failure, text, urls};
use crate::app::AppState;
use crate::params::Params;
use crate::store::acl::AclKind;
use crate::store::democratic::QUEUE_ID;

/// `params` unchanged unless they name the democratic stream; then the same
/// parameters with `type=song&oid=<the song>` in place of `demo_id`.
pub async fn resolve(
    state: &AppState,
    ip: IpAddr,
    method: &Method,
    headers: &HeaderMap,
    params: Params,
) -> Result<Params, Response> {
    let Some(demo_id) = params.get("demo_id") else {
        return Ok(params);
    };
    if params.get("oid").is_some() {
        return Ok(params);
    }
    // The queue changes only for a holder of a session, never for anyone else.
    authenticate(state, params.get("ssid"), AclKind::Stream, ip).await?;
    if demo_id.trim().parse::<i64>().ok() != Some(QUEUE_ID) {
        return Err(text(StatusCode::NOT_FOUND, "No such democratic playlist\n"));
    }
    let store = &state.store;
    let failed = |e: crate::store::StoreError| {
        tracing::error!("democratic stream: {e}");
        store_failure(&e)
    };
    let song = if *method == Method::HEAD || continues(headers) {
        store.democratic_playing().await.map_err(failed)?
    } else {
        match store.democratic_take_next().await.map_err(failed)? {
            Some(song) => Some(song),
            None => match state.settings.control.democratic_base_playlist {
                Some(playlist) => {
                    let song = store.random_playlist_song(playlist).await.map_err(failed)?;
                    if let Some(song) = song {
                        store.democratic_set_playing(song).await.map_err(failed)?;
                    }
                    song
                }
                None => None,
            },
        }
    };
    let Some(song) = song else {
        return Err(text(
            StatusCode::NOT_FOUND,
            "The democratic queue is empty\n",
        ));
    };
    let mut query: Vec<String> = params
        .names()
        .filter(|name| !matches!(*name, "demo_id" | "type" | "oid"))
        .map(|name| {
            let value = params.get(name).unwrap_or("");
            format!("{}={}", urls::encode(name), urls::encode(value))
        })
        .collect();
    query.push(format!("type=song&oid={song}"));
    Params::parse(Some(&query.join("&")), None)
        .map_err(|_| text(StatusCode::BAD_REQUEST, "Bad request\n"))
}

/// Whether the request asks for a part after the start (`Range: bytes=N-` with N > 0,
/// or a suffix range).
fn continues(headers: &HeaderMap) -> bool {
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(spec) = range.trim().strip_prefix("bytes=") else {
        return false;
    };
    let first = spec.split(',').next().unwrap_or("").trim();
    match first.split_once('-') {
        Some(("", _)) => true,
        Some((start, _)) => start.trim().parse::<u64>().is_ok_and(|n| n > 0),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_range(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, value.parse().unwrap());
        headers
    }

    #[test]
    fn only_a_range_past_the_start_continues_a_song() {
        assert!(!continues(&HeaderMap::new()));
        assert!(!continues(&with_range("bytes=0-")));
        assert!(!continues(&with_range("bytes=0-100")));
        assert!(continues(&with_range("bytes=100-")));
        assert!(continues(&with_range("bytes=-500")));
    }
}
