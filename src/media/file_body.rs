//! A response body that reads a part of a file in chunks as the client takes them,
//! without blocking the async runtime (tokio's file reads run on its blocking pool)
//! and without holding more than one chunk per stream in memory.

use std::io::SeekFrom;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use tokio::io::{AsyncRead, AsyncSeekExt, ReadBuf};

/// How much one read takes from the file.
const CHUNK: usize = 128 * 1024;

/// `length` bytes of `file` from `start`, as a streaming body.
pub async fn file_body(
    mut file: tokio::fs::File,
    start: u64,
    length: u64,
) -> std::io::Result<Body> {
    if start > 0 {
        file.seek(SeekFrom::Start(start)).await?;
    }
    Ok(Body::from_stream(FileChunks {
        file,
        remaining: length,
        buffer: Vec::new(),
    }))
}

struct FileChunks {
    file: tokio::fs::File,
    remaining: u64,
    buffer: Vec<u8>,
}

impl futures_core::Stream for FileChunks {
    type Item = std::io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = CHUNK.min(usize::try_from(this.remaining).unwrap_or(CHUNK));
        if this.buffer.len() < want {
            this.buffer.resize(want, 0);
        }
        let mut read = ReadBuf::new(&mut this.buffer[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(error)) => {
                this.remaining = 0;
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(Ok(())) => {
                let filled = read.filled();
                if filled.is_empty() {
                    // The file shrank since its length was sent: end the response as
                    // broken rather than short.
                    this.remaining = 0;
                    return Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file is shorter than when the response started",
                    ))));
                }
                this.remaining -= filled.len() as u64;
                Poll::Ready(Some(Ok(Bytes::copy_from_slice(filled))))
            }
        }
    }
}
