//! Opening library files safely. A path the store knows may since have become a
//! directory, a named pipe or a device, or lost its read permission. Opening a pipe
//! for reading waits for a writer (a request that hangs, and a blocking thread that
//! keeps the server from stopping), and reading a directory fails half-way through an
//! answer. So library files are opened without blocking and checked to be regular
//! files on the opened descriptor, before anything is sent.

use std::fs::File;
use std::io;
use std::path::Path;

/// Why a library file cannot be served or read.
#[derive(Debug)]
pub enum OpenError {
    /// Nothing is there any more.
    Missing,
    /// There, but this process may not read it.
    Denied,
    /// There, but not a regular file (a directory, pipe, socket or device).
    NotAFile,
    Other(io::Error),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Missing => write!(f, "the file is gone"),
            OpenError::Denied => write!(f, "no permission to read the file"),
            OpenError::NotAFile => write!(f, "not a regular file"),
            OpenError::Other(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for OpenError {}

impl From<io::Error> for OpenError {
    fn from(error: io::Error) -> OpenError {
        match error.kind() {
            io::ErrorKind::NotFound => OpenError::Missing,
            io::ErrorKind::PermissionDenied => OpenError::Denied,
            io::ErrorKind::IsADirectory => OpenError::NotAFile,
            _ => OpenError::Other(error),
        }
    }
}

impl From<OpenError> for io::Error {
    fn from(error: OpenError) -> io::Error {
        match error {
            OpenError::Missing => io::Error::new(io::ErrorKind::NotFound, "the file is gone"),
            OpenError::Denied => io::Error::new(io::ErrorKind::PermissionDenied, "no permission"),
            OpenError::NotAFile => io::Error::other("not a regular file"),
            OpenError::Other(e) => e,
        }
    }
}

/// Opens `path` for reading if it is a regular file, without ever blocking: the open
/// is non-blocking (a pipe opens at once instead of waiting for a writer), and the
/// type is checked on the opened descriptor, so a swap between check and open cannot
/// slip a pipe through. The returned file reads normally (O_NONBLOCK means nothing
/// for regular files).
pub fn open_regular(path: &Path) -> Result<File, OpenError> {
    open_regular_sized(path).map(|(file, _)| file)
}

/// [`open_regular`], with the file's length as the opened descriptor gives it.
pub fn open_regular_sized(path: &Path) -> Result<(File, u64), OpenError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(OpenError::NotAFile);
    }
    Ok((file, metadata.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(open_regular(dir.path()), Err(OpenError::NotAFile)));
        assert!(matches!(
            open_regular(&dir.path().join("absent")),
            Err(OpenError::Missing)
        ));
        let file = dir.path().join("song.mp3");
        std::fs::write(&file, b"abc").unwrap();
        assert!(open_regular(&file).is_ok());
        #[cfg(unix)]
        {
            let fifo = dir.path().join("pipe.mp3");
            let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            // SAFETY: mkfifo reads a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o644) }, 0);
            // Would hang for ever with a plain open.
            assert!(matches!(open_regular(&fifo), Err(OpenError::NotAFile)));
        }
    }
}
