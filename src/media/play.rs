//! `/play/index.php`: serves a song or video by id to the holder of an API session
//! (spec section 7.2), with HTTP ranges, as players seek with them.
//!
//! The file is always found by id in the store, never from a path in the request.
//! A song fetched from its first byte counts as a play of the session's user.
//! Songs are transcoded (`transcode_to`/`format`, `bitrate`, `frame`; see
//! [`super::transcode`]) when what was asked, or a bitrate cap, needs it; otherwise,
//! and for videos, the file itself is served.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;

use super::file_body::file_body;
use super::range::ByteRange;
use super::transcode::plan::{self, lossless_mime, plan, Asked, Plan, Source};
use super::transcode::serve;
use super::{authenticate, internal_error, store_failure, text, urls};
use crate::app::AppState;
use crate::files::OpenError;
use crate::params::Params;
use crate::store::acl::AclKind;
use crate::store::media::{MediaFile, MediaKind};
use crate::store::now;
use crate::store::sessions::Session;

pub async fn play(
    State(state): State<Arc<AppState>>,
    ConnectInfo(connection): ConnectInfo<crate::app::Connection>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let params = match play_params(&uri) {
        Some(params) => params,
        None => return text(StatusCode::BAD_REQUEST, "Bad request\n"),
    };
    let ip = connection.peer.ip().to_canonical();
    // The democratic stream plays a song chosen now (spec 5.17).
    let params = match super::democratic::resolve(&state, ip, &method, &headers, params).await {
        Ok(params) => params,
        Err(response) => return response,
    };
    match serve(
        &state,
        connection.peer.ip().to_canonical(),
        &method,
        &headers,
        &params,
    )
    .await
    {
        Ok(response) | Err(response) => response,
    }
}

/// The parameters of either form: the query string, or the "beautified" path
/// `/play/ssid/<t>/type/song/oid/<id>/uid/<u>/name/<n>` (also after `index.php?`).
fn play_params(uri: &Uri) -> Option<Params> {
    let rest = uri.path().strip_prefix("/play")?.trim_start_matches('/');
    let rest = rest.strip_prefix("index.php").unwrap_or(rest);
    let query = uri.query().unwrap_or("");
    let pairs = if !rest.trim_matches('/').is_empty() {
        rest
    } else if query.starts_with('/') {
        query
    } else {
        return Params::parse(Some(query), None).ok();
    };
    let segments: Vec<String> = pairs
        .trim_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
        })
        .collect::<Result<_, _>>()
        .ok()?;
    let query: Vec<String> = segments
        .chunks(2)
        .map(|pair| {
            let value = pair.get(1).map(String::as_str).unwrap_or("");
            format!("{}={}", urls::encode(&pair[0]), urls::encode(value))
        })
        .collect();
    Params::parse(Some(&query.join("&")), None).ok()
}

async fn serve(
    state: &AppState,
    ip: IpAddr,
    method: &Method,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Response, Response> {
    let session = authenticate(state, params.get("ssid"), AclKind::Stream, ip).await?;
    keep_alive(state, &session).await;
    let kind = match params.get("type").unwrap_or("song") {
        "song" => MediaKind::Song,
        "video" => MediaKind::Video,
        // No podcasts here, so no episode exists.
        "podcast_episode" | "podcast" => return Err(not_found()),
        _ => return Err(text(StatusCode::BAD_REQUEST, "Unknown object type\n")),
    };
    let id = params
        .get("oid")
        .and_then(|id| id.trim().parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| text(StatusCode::BAD_REQUEST, "Missing or invalid oid\n"))?;
    let media = match state.store.media_file(kind, id).await {
        Ok(Some(media)) => media,
        Ok(None) => return Err(not_found()),
        Err(e) => {
            tracing::error!("cannot look up {} {id}: {e}", kind.as_str());
            return Err(store_failure(&e));
        }
    };
    let path = std::path::PathBuf::from(&media.path);
    let opened = tokio::task::spawn_blocking(move || crate::files::open_regular(&path)).await;
    let file = match opened {
        Ok(Ok(file)) => tokio::fs::File::from_std(file),
        Ok(Err(OpenError::Missing)) => {
            tracing::warn!("{} {id}: {} is gone", kind.as_str(), media.path);
            return Err(not_found());
        }
        Ok(Err(OpenError::NotAFile)) => {
            tracing::warn!(
                "{} {id}: {} is not a regular file",
                kind.as_str(),
                media.path
            );
            return Err(not_found());
        }
        Ok(Err(OpenError::Denied)) => {
            tracing::warn!(
                "{} {id}: no permission to read {}",
                kind.as_str(),
                media.path
            );
            return Err(text(StatusCode::FORBIDDEN, "The file cannot be read\n"));
        }
        Ok(Err(OpenError::Other(e))) => {
            tracing::error!("cannot open {}: {e}", media.path);
            return Err(internal_error());
        }
        Err(e) => {
            tracing::error!("cannot open {}: {e}", media.path);
            return Err(internal_error());
        }
    };
    let metadata = file.metadata().await.map_err(|e| {
        tracing::error!("cannot read the metadata of {}: {e}", media.path);
        internal_error()
    })?;
    let size = metadata.len();
    let mtime = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default();
    let modified = mtime.as_secs();
    let download = params.get("action") == Some("download");

    if kind == MediaKind::Song {
        let asked = Asked::parse(|name| params.get(name).map(str::to_string), download).map_err(
            |name| match name {
                "format" => text(StatusCode::BAD_REQUEST, "Invalid format\n"),
                "bitrate" => text(StatusCode::BAD_REQUEST, "Invalid bitrate\n"),
                _ => text(StatusCode::BAD_REQUEST, "Invalid frame\n"),
            },
        )?;
        let user_cap = match state.store.user_max_bitrate(session.user.id).await {
            Ok(cap) => cap,
            Err(e) => {
                tracing::error!("cannot read a user's bitrate limit: {e}");
                return Err(store_failure(&e));
            }
        };
        let family = source_family(&media.mime, &media.path, asked.format.as_deref()).await;
        let source = Source {
            family,
            kbps: (media.bitrate + 500) / 1000,
            lossless: lossless_mime(&media.mime),
        };
        let settings = &state.transcoder.settings();
        match plan(settings, &asked, source, user_cap) {
            Err(_) => return Err(text(StatusCode::BAD_REQUEST, "Unknown format\n")),
            Ok(Plan::Raw) => {}
            Ok(Plan::Transcode {
                profile,
                kbps,
                offset,
            }) => {
                drop(file);
                let wants_length = params.get("content_length") == Some("required")
                    || params.get("length") == Some("1");
                let (response, from_start) = serve::respond(
                    &state.transcoder,
                    serve::Target {
                        profile,
                        kbps,
                        offset,
                    },
                    serve::SourceFile {
                        path: &media.path,
                        size,
                        mtime_nanos: mtime.as_nanos(),
                        duration: media.duration,
                    },
                    serve::RequestInfo {
                        method,
                        headers,
                        wants_length,
                        disposition: download.then(|| attachment(&media, Some(&profile.extension))),
                    },
                )
                .await;
                // A listen starts at the beginning of the song: a seek (`frame`) or a
                // later range of the same listen is not another play.
                if from_start && offset <= 0.0 && method == Method::GET && !download {
                    count_play(state, &session, &media, headers).await;
                }
                return Ok(response);
            }
        }
    }

    let etag = format!("\"{}-{}-{size}-{modified}\"", kind.as_str(), media.id);

    // A Range applies only if the client's copy (If-Range) is still this version.
    let range_header = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .filter(|_| {
            headers
                .get(header::IF_RANGE)
                .is_none_or(|v| v.as_bytes() == etag.as_bytes())
        });
    let range = ByteRange::parse(range_header, size);

    let mut builder = Response::builder()
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, header_value(&etag));
    if range == ByteRange::Unsatisfiable {
        return Ok(builder
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(header::CONTENT_RANGE, format!("bytes */{size}"))
            .header(header::CONTENT_LENGTH, "0")
            .body(Body::empty())
            .unwrap_or_else(|_| internal_error()));
    }
    builder = builder
        .header(header::CONTENT_TYPE, header_value(&media.mime))
        .header("X-Content-Duration", seconds(media.duration));
    if download {
        builder = builder.header(header::CONTENT_DISPOSITION, attachment(&media, None));
    }
    let (status, start, length) = match range {
        ByteRange::Part { start, end } => {
            builder = builder.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"));
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        _ => (StatusCode::OK, 0, size),
    };
    builder = builder
        .status(status)
        .header(header::CONTENT_LENGTH, length.to_string());
    // A song fetched from its first byte is a play (spec 7.2); later ranges of the
    // same listen, HEAD requests and downloads are not.
    if kind == MediaKind::Song && method == Method::GET && start == 0 && !download {
        count_play(state, &session, &media, headers).await;
    }
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        file_body(file, start, length).await.map_err(|e| {
            tracing::error!("cannot read {}: {e}", media.path);
            internal_error()
        })?
    };
    Ok(builder.body(body).unwrap_or_else(|_| internal_error()))
}

/// Records a play of the song by the session's user (spec 7.2), with the player's
/// User-Agent as the agent.
async fn count_play(state: &AppState, session: &Session, media: &MediaFile, headers: &HeaderMap) {
    let agent: String = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(255)
        .collect();
    if let Err(e) = state
        .store
        .record_play(session.user.id, media.id, now(), &agent)
        .await
    {
        tracing::warn!("cannot record a play of song {}: {e}", media.id);
    }
}

/// The family of the song's format for deciding whether it already fits what was
/// asked. An MP4 file may hold AAC or ALAC: its tags tell, read only when an AAC
/// target makes it matter.
async fn source_family(mime: &str, path: &str, asked: Option<&str>) -> Option<&'static str> {
    let family = plan::source_family(mime, path)?;
    if family != "aac" || mime != "audio/mp4" || !matches!(asked, Some("aac" | "m4a")) {
        return Some(family);
    }
    let path = path.to_string();
    let codec = tokio::task::spawn_blocking(move || {
        use lofty::file::AudioFile;
        let file = std::fs::File::open(&path).ok()?;
        let mut reader = std::io::BufReader::new(file);
        let mp4 = lofty::mp4::Mp4File::read_from(
            &mut reader,
            lofty::config::ParseOptions::new().read_tags(false),
        )
        .ok()?;
        Some(*mp4.properties().codec() == lofty::mp4::Mp4Codec::AAC)
    })
    .await;
    match codec {
        Ok(Some(true)) => Some("aac"),
        _ => None,
    }
}

/// Extends a session used to stream, as the API does for its calls, so a player
/// working through a long queue keeps its URLs valid.
async fn keep_alive(state: &AppState, session: &Session) {
    let expire = now() + state.settings.session_length;
    if expire - session.expire >= 60 {
        if let Err(e) = state
            .store
            .extend_session(&session.token, expire, None)
            .await
        {
            tracing::warn!("cannot extend a session: {e}");
        }
    }
}

fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "Not found\n")
}

pub(crate) fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

/// A duration in seconds as `X-Content-Duration` carries it: "3", "1.071".
pub(crate) fn seconds(duration: f64) -> String {
    let text = format!("{:.3}", duration.max(0.0));
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed.is_empty() {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

/// `attachment; filename="<ASCII-safe name>"; filename*=UTF-8''<exact name>`: the
/// file's name, with `extension` instead of its own for a transcode.
fn attachment(media: &MediaFile, extension: Option<&str>) -> HeaderValue {
    let path = Path::new(&media.path);
    let name = match extension {
        Some(extension) => path
            .file_stem()
            .and_then(|n| n.to_str())
            .map(|stem| format!("{stem}.{extension}")),
        None => path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string),
    }
    .unwrap_or_else(|| format!("{}-{}", media.kind.as_str(), media.id));
    let ascii: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let value = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        urls::encode(&name)
    );
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(uri: &str) -> Params {
        play_params(&uri.parse::<Uri>().unwrap()).unwrap()
    }

    #[test]
    fn both_url_forms() {
        let query =
            params("/play/index.php?ssid=abc&type=song&oid=12&uid=1&player=api&name=A%20-%20B.mp3");
        assert_eq!(query.get("ssid"), Some("abc"));
        assert_eq!(query.get("oid"), Some("12"));
        assert_eq!(query.get("name"), Some("A - B.mp3"));
        let path = params("/play/ssid/abc/type/song/oid/12/uid/1/name/A%20-%20B.mp3");
        assert_eq!(path.get("ssid"), Some("abc"));
        assert_eq!(path.get("type"), Some("song"));
        assert_eq!(path.get("oid"), Some("12"));
        assert_eq!(path.get("name"), Some("A - B.mp3"));
        let after_index = params("/play/index.php?/ssid/abc/oid/7");
        assert_eq!(after_index.get("oid"), Some("7"));
        assert!(play_params(&"/play/ssid/a/ssid/b".parse::<Uri>().unwrap()).is_none());
    }

    #[test]
    fn durations() {
        assert_eq!(seconds(3.0), "3");
        assert_eq!(seconds(1.0714), "1.071");
        assert_eq!(seconds(0.0), "0");
    }
}
