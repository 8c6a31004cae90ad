//! A file read through two buffered windows, for the tag readers.
//!
//! lofty reads a file in small pieces and seeks between them: the ID3v2 header, the
//! first MPEG frame, the last 128 bytes for ID3v1, the APE footer before them, and it
//! asks for its position often. Through `std::io::BufReader` every position asked
//! (`stream_position`) is an `lseek` and every seek drops the buffer, so the next
//! small read is another `read`: `strace -c` of a 1,000-file scan of the benchmark's
//! library counted 22 `lseek` and 11 `read` calls a file. Here a seek is arithmetic
//! on a known length, and the reads are served from two windows of the file (one
//! usually on its head, one on its tail), refilled by `pread` only when a read falls
//! outside both.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

/// Bytes a window holds: the whole of most tag headers, and the whole of a small
/// file, which is then read by a single call.
const WINDOW: u64 = 64 * 1024;

/// A window starts on a multiple of this below the position that missed, so a
/// reader stepping back a few bytes stays inside it.
const ALIGN: u64 = 4096;

pub struct WindowedFile {
    file: File,
    len: u64,
    pos: u64,
    windows: [Window; 2],
    /// The window the next miss refills: the one not used last.
    next_refill: usize,
}

#[derive(Default)]
struct Window {
    start: u64,
    data: Vec<u8>,
}

impl Window {
    fn holds(&self, pos: u64) -> bool {
        pos >= self.start && pos - self.start < self.data.len() as u64
    }
}

impl WindowedFile {
    /// Reads `file` of `len` bytes (as its descriptor gave it when opened): a file
    /// growing while it is read ends where it ended then.
    pub fn new(file: File, len: u64) -> WindowedFile {
        WindowedFile {
            file,
            len,
            pos: 0,
            windows: Default::default(),
            next_refill: 0,
        }
    }

    /// Fills window `which` with the bytes around `self.pos`. A position in the last
    /// window's worth of the file gets that whole stretch, so the tail readers'
    /// steps backwards (APE footer, Lyrics3, ID3v1) are one read.
    fn refill(&mut self, which: usize) -> io::Result<()> {
        let start = (self.pos & !(ALIGN - 1)).min(self.len.saturating_sub(WINDOW));
        let wanted = WINDOW.min(self.len - start) as usize;
        let window = &mut self.windows[which];
        window.start = start;
        window.data.resize(wanted, 0);
        let mut filled = 0;
        while filled < wanted {
            match self
                .file
                .read_at(&mut window.data[filled..], start + filled as u64)
            {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    window.data.clear();
                    return Err(e);
                }
            }
        }
        // A file cut shorter while read: the window holds what is there.
        window.data.truncate(filled);
        Ok(())
    }
}

impl Read for WindowedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.len {
            return Ok(0);
        }
        let which = match self.windows.iter().position(|w| w.holds(self.pos)) {
            Some(which) => which,
            // A read as large as a window (a picture, an audio stretch) goes to the
            // file directly instead of through a window it would overrun.
            None if buf.len() as u64 >= WINDOW => {
                let n = self.file.read_at(buf, self.pos)?;
                self.pos += n as u64;
                return Ok(n);
            }
            None => {
                let which = self.next_refill;
                self.refill(which)?;
                if !self.windows[which].holds(self.pos) {
                    return Ok(0);
                }
                which
            }
        };
        self.next_refill = 1 - which;
        let window = &self.windows[which];
        let from = (self.pos - window.start) as usize;
        let n = buf.len().min(window.data.len() - from);
        buf[..n].copy_from_slice(&window.data[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for WindowedFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        self.pos = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek to a negative or overflowing position",
            )
        })?;
        Ok(self.pos)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A file of `len` bytes whose byte at `i` is `i % 251`, so any misplaced copy
    /// shows.
    fn patterned(len: usize) -> (tempfile::NamedTempFile, Vec<u8>) {
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&bytes).unwrap();
        (file, bytes)
    }

    fn open(file: &tempfile::NamedTempFile) -> WindowedFile {
        let opened = File::open(file.path()).unwrap();
        let len = opened.metadata().unwrap().len();
        WindowedFile::new(opened, len)
    }

    #[test]
    fn reads_what_a_plain_file_reads_at_every_seek() {
        let (file, bytes) = patterned(300_000);
        let mut reader = open(&file);
        // Head, tail, steps backwards near the end, a stretch across both windows'
        // edges, a read larger than a window, and reads past the end.
        let steps: &[(SeekFrom, usize)] = &[
            (SeekFrom::Start(0), 10),
            (SeekFrom::Current(-4), 100),
            (SeekFrom::End(-128), 128),
            (SeekFrom::End(-160), 32),
            (SeekFrom::Start(65_530), 20),
            (SeekFrom::Start(4_000), 200_000),
            (SeekFrom::Start(131_000), 70_000),
            (SeekFrom::End(-3), 10),
            (SeekFrom::End(5), 10),
        ];
        for (to, len) in steps {
            let at = reader.seek(*to).unwrap() as usize;
            assert_eq!(reader.stream_position().unwrap() as usize, at);
            let mut got = Vec::new();
            (&mut reader)
                .take(*len as u64)
                .read_to_end(&mut got)
                .unwrap();
            let end = (at + len).min(bytes.len()).max(at.min(bytes.len()));
            assert_eq!(got, bytes[at.min(bytes.len())..end], "{to:?} {len}");
        }
    }

    #[test]
    fn a_small_file_is_read_by_one_window() {
        let (file, bytes) = patterned(7_000);
        let mut reader = open(&file);
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, bytes);
        reader.seek(SeekFrom::End(-128)).unwrap();
        let mut tail = [0u8; 128];
        reader.read_exact(&mut tail).unwrap();
        assert_eq!(tail[..], bytes[bytes.len() - 128..]);
    }

    #[test]
    fn a_seek_before_the_start_is_refused() {
        let (file, _) = patterned(100);
        let mut reader = open(&file);
        assert_eq!(
            reader.seek(SeekFrom::Current(-1)).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            reader.seek(SeekFrom::End(-101)).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(reader.stream_position().unwrap(), 0);
    }
}
