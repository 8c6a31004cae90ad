//! Answering a play request with a transcode: from the cache like a file (exact
//! length, ranges, 206), or live from a running job.
//!
//! Before a transcode is complete its length is unknown: the answer is 200 without
//! Content-Length (chunked), or with an estimate (duration × bitrate) when the client
//! asked for one (`content_length=required`, `length=1`); then exactly that many
//! bytes are sent, the output cut or padded with zeros to fit. A Range from byte 0
//! (`bytes=0-`) gets the whole stream. Any other Range (a seek past what is written,
//! or anywhere) waits until the transcode is complete (ffmpeg runs many times faster
//! than real time: seconds for a long song), then gets an exact 206 from the result.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::profile::Profile;
use super::{cache, Command, Opened, Reader, TranscodeError, Transcoder};
use crate::media::file_body::file_body;
use crate::media::play::{header_value, seconds};
use crate::media::range::ByteRange;

/// How long a Range request waits for a transcode to complete.
const COMPLETE_WAIT: Duration = Duration::from_secs(120);

/// The transcode to make of one file.
pub struct Target<'a> {
    pub profile: &'a Profile,
    pub kbps: i64,
    pub offset: f64,
}

/// The file being transcoded.
pub struct SourceFile<'a> {
    pub path: &'a str,
    pub size: u64,
    pub mtime_nanos: u128,
    /// Seconds.
    pub duration: f64,
}

/// What the client sent besides the target.
pub struct RequestInfo<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    pub wants_length: bool,
    /// `Content-Disposition` for a download.
    pub disposition: Option<HeaderValue>,
}

/// The answer, and whether it serves the transcode from its start (a play).
pub async fn respond(
    transcoder: &Transcoder,
    target: Target<'_>,
    source: SourceFile<'_>,
    request: RequestInfo<'_>,
) -> (Response, bool) {
    let profile = target.profile;
    let args = profile.output_args(target.kbps);
    let cacheable = target.offset <= 0.0;
    let mut key_args = args.clone();
    key_args.push(format!("ss={:.3}", target.offset.max(0.0)));
    let key = cache::key(source.path, source.size, source.mtime_nanos, &key_args);
    let duration = (source.duration - target.offset.max(0.0)).max(0.0);
    // Lossless output: about CD rate for an estimate.
    let estimate_kbps = if profile.lossless { 1411 } else { target.kbps };
    let estimate = (duration * estimate_kbps as f64 * 1000.0 / 8.0).ceil() as u64 + 8192;

    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, header_value(&profile.mime))
        .header("X-Content-Duration", seconds(duration));
    if let Some(disposition) = request.disposition {
        builder = builder.header(header::CONTENT_DISPOSITION, disposition);
    }
    let range_header = |etag: Option<&str>| {
        request
            .headers
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .filter(|_| {
                request
                    .headers
                    .get(header::IF_RANGE)
                    .is_none_or(|v| Some(v.as_bytes()) == etag.map(str::as_bytes))
            })
            .map(str::to_string)
    };

    if request.method == Method::HEAD {
        // Never starts ffmpeg: a HEAD tells what a GET would send.
        if cacheable {
            if let Some((_, size)) = transcoder.cached(&key, &profile.extension).await {
                let response = builder
                    .header(header::ACCEPT_RANGES, "bytes")
                    .header(header::ETAG, header_value(&etag(&key, size)))
                    .header(header::CONTENT_LENGTH, size.to_string())
                    .body(Body::empty());
                return (finish(response), false);
            }
        }
        builder = builder.header(header::ACCEPT_RANGES, ranges(cacheable));
        if request.wants_length {
            builder = builder.header(header::CONTENT_LENGTH, estimate.to_string());
            return (finish(builder.body(Body::empty())), false);
        }
        // A body of unknown length, so no `Content-Length: 0` is made up for it.
        let unknown = futures_util::stream::empty::<Result<axum::body::Bytes, std::io::Error>>();
        return (finish(builder.body(Body::from_stream(unknown))), false);
    }

    let command = Command {
        source: std::path::Path::new(source.path),
        offset: target.offset,
        output_args: args,
        // 20 s of audio ahead of the listener.
        lead_bytes: estimate_kbps as u64 * 1000 / 8 * 20,
    };
    let opened = match transcoder
        .open(&key, &profile.extension, command, cacheable)
        .await
    {
        Ok(opened) => opened,
        Err(e) => return (error(e), false),
    };
    match opened {
        Opened::Cached { path, size } => {
            let etag = etag(&key, size);
            let range = ByteRange::parse(range_header(Some(&etag)).as_deref(), size);
            builder = builder
                .header(header::ACCEPT_RANGES, "bytes")
                .header(header::ETAG, header_value(&etag));
            let (status, start, length) = match range {
                ByteRange::Unsatisfiable => {
                    let response = builder
                        .status(StatusCode::RANGE_NOT_SATISFIABLE)
                        .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                        .header(header::CONTENT_LENGTH, "0")
                        .body(Body::empty());
                    return (finish(response), false);
                }
                ByteRange::Part { start, end } => {
                    builder = builder
                        .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"));
                    (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
                }
                ByteRange::Whole => (StatusCode::OK, 0, size),
            };
            let file = match tokio::fs::File::open(&path).await {
                Ok(file) => file,
                Err(e) => return (error(e.into()), false),
            };
            let body = match file_body(file, start, length).await {
                Ok(body) => body,
                Err(e) => return (error(e.into()), false),
            };
            let response = builder
                .status(status)
                .header(header::CONTENT_LENGTH, length.to_string())
                .body(body);
            (finish(response), start == 0)
        }
        Opened::Live(mut reader) => {
            let range = range_header(None).filter(|_| cacheable);
            let from_start = range
                .as_deref()
                .is_none_or(|r| r.replace(' ', "").eq_ignore_ascii_case("bytes=0-"));
            if !from_start {
                let range = range.unwrap_or_default();
                let size = match tokio::time::timeout(COMPLETE_WAIT, reader.complete()).await {
                    Ok(Ok(size)) => size,
                    Ok(Err(e)) => return (error(e), false),
                    Err(_) => {
                        return (
                            (
                                StatusCode::SERVICE_UNAVAILABLE,
                                "The transcode is not complete yet; try the range again\n",
                            )
                                .into_response(),
                            false,
                        )
                    }
                };
                let etag = etag(&key, size);
                builder = builder
                    .header(header::ACCEPT_RANGES, "bytes")
                    .header(header::ETAG, header_value(&etag));
                return match ByteRange::parse(Some(&range), size) {
                    ByteRange::Unsatisfiable => {
                        let response = builder
                            .status(StatusCode::RANGE_NOT_SATISFIABLE)
                            .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                            .header(header::CONTENT_LENGTH, "0")
                            .body(Body::empty());
                        (finish(response), false)
                    }
                    ByteRange::Part { start, end } => {
                        reader.limit(start, Some(end + 1), false);
                        let response = builder
                            .status(StatusCode::PARTIAL_CONTENT)
                            .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"))
                            .header(header::CONTENT_LENGTH, (end - start + 1).to_string())
                            .body(stream(reader));
                        (finish(response), start == 0)
                    }
                    ByteRange::Whole => {
                        let response = builder
                            .header(header::CONTENT_LENGTH, size.to_string())
                            .body(stream(reader));
                        (finish(response), true)
                    }
                };
            }
            if let Err(e) = reader.first_bytes().await {
                return (error(e), false);
            }
            builder = builder.header(header::ACCEPT_RANGES, ranges(cacheable));
            if request.wants_length {
                reader.limit(0, Some(estimate), true);
                builder = builder.header(header::CONTENT_LENGTH, estimate.to_string());
            }
            (finish(builder.body(stream(reader))), true)
        }
    }
}

fn stream(reader: Reader) -> Body {
    Body::from_stream(futures_util::stream::unfold(
        reader,
        |mut reader| async move { reader.next().await.map(|item| (item, reader)) },
    ))
}

fn ranges(cacheable: bool) -> &'static str {
    if cacheable {
        "bytes"
    } else {
        "none"
    }
}

fn etag(key: &str, size: u64) -> String {
    format!("\"t-{key}-{size}\"")
}

fn finish(response: Result<Response, axum::http::Error>) -> Response {
    response
        .unwrap_or_else(|_| (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response())
}

/// A clear answer for a transcode that cannot be made.
pub fn error(e: TranscodeError) -> Response {
    let (status, retry) = match &e {
        TranscodeError::Missing(_) => {
            tracing::warn!("{e}");
            (StatusCode::SERVICE_UNAVAILABLE, false)
        }
        TranscodeError::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, true),
        TranscodeError::Stopping => (StatusCode::SERVICE_UNAVAILABLE, false),
        TranscodeError::Failed(reason) => {
            tracing::warn!("a transcode failed: {reason}");
            (StatusCode::UNPROCESSABLE_ENTITY, false)
        }
        TranscodeError::Io(io) => {
            tracing::error!("transcoding: {io}");
            (StatusCode::INTERNAL_SERVER_ERROR, false)
        }
    };
    let message = match &e {
        TranscodeError::Missing(_) => {
            "Transcoding is not available on this server: ffmpeg was not found. Ask for format=raw to get the original file.\n".to_string()
        }
        TranscodeError::Failed(_) => "This file cannot be transcoded\n".to_string(),
        TranscodeError::Io(_) => "internal error\n".to_string(),
        other => format!("{other}\n"),
    };
    let mut response = (status, message).into_response();
    if retry {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}
