//! The transcode cache: finished transcodes as files under `<data>/cache/transcode`,
//! named by a hash of the source (path, size, mtime) and the exact ffmpeg options, so
//! a changed file or profile never meets an old transcode.
//!
//! Safe with several processes on one data folder: each writes its own temporary
//! file (`<key>.<pid>-<random>.part`, locked with `flock` while its writer has it
//! open) and publishes it with a hard link, which fails
//! instead of replacing when another process published first, so a finished file
//! never changes under a reader. Files are only ever added whole or removed; a
//! reader that has one open keeps reading it even after eviction removes its name.
//! Least recently used first out: a hit sets the file's mtime to now.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

/// How old a temporary file must be before a sweep takes it for the leftover of a
/// crashed process (a live transcode writes to its own continuously), whatever its
/// lock says (a file system without locks).
const STALE_PART: Duration = Duration::from_secs(3600);

pub fn cache_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("cache").join("transcode")
}

/// The cache key of a transcode of `path` (with this size and mtime) made with these
/// ffmpeg options.
pub fn key(path: &str, size: u64, mtime_nanos: u128, args: &[String]) -> String {
    let mut hash = Sha256::new();
    hash.update(path.as_bytes());
    hash.update([0]);
    hash.update(size.to_le_bytes());
    hash.update(mtime_nanos.to_le_bytes());
    for arg in args {
        hash.update([0]);
        hash.update(arg.as_bytes());
    }
    hex::encode(&hash.finalize()[..16])
}

pub fn final_path(dir: &Path, key: &str, extension: &str) -> PathBuf {
    dir.join(format!("{key}.{extension}"))
}

pub fn part_path(dir: &Path, key: &str) -> PathBuf {
    let random: u32 = rand::random();
    dir.join(format!("{key}.{}-{random:08x}.part", std::process::id()))
}

/// Publishes a finished temporary file under `target`; if another process got there
/// first its file stays (same source, same options: the same transcode). Either way
/// the temporary name is removed.
pub fn publish(part: &Path, target: &Path) -> std::io::Result<()> {
    let linked = std::fs::hard_link(part, target);
    let _ = std::fs::remove_file(part);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Marks a cached file as just used.
pub fn touch(path: &Path) {
    if let Ok(file) = std::fs::File::options().append(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Removes the least recently used finished files until the folder holds at most
/// `limit` bytes, and temporary files left by crashed processes: unlocked ones at
/// once, any after [`STALE_PART`]. Returns the bytes kept.
pub fn evict(dir: &Path, limit: u64) -> std::io::Result<u64> {
    let mut files = Vec::new();
    let now = SystemTime::now();
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let modified = meta.modified().unwrap_or(now);
        if entry.file_name().to_string_lossy().ends_with(".part") {
            if now.duration_since(modified).unwrap_or_default() > STALE_PART
                || abandoned(&entry.path(), meta.len())
            {
                let _ = std::fs::remove_file(entry.path());
            }
            continue;
        }
        files.push((modified, meta.len(), entry.path()));
    }
    let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
    files.sort();
    for (_, len, path) in files {
        if total <= limit {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
    Ok(total)
}

/// Whether a temporary file is the leftover of a process that died: its writer
/// holds a lock on it as long as it has it open, and the lock goes with the process
/// however it ends. An empty one may be a transcode starting this instant, before its
/// lock: left to the age rule.
fn abandoned(path: &Path, len: u64) -> bool {
    if len == 0 {
        return false;
    }
    match std::fs::File::open(path) {
        Ok(file) => file.try_lock().is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_change_with_the_source_and_the_options() {
        let args = vec!["-b:a".to_string(), "128k".to_string()];
        let k = key("/m/a.flac", 10, 5, &args);
        assert_eq!(k.len(), 32);
        assert_eq!(k, key("/m/a.flac", 10, 5, &args));
        assert_ne!(k, key("/m/a.flac", 11, 5, &args));
        assert_ne!(k, key("/m/a.flac", 10, 6, &args));
        assert_ne!(k, key("/m/b.flac", 10, 5, &args));
        assert_ne!(k, key("/m/a.flac", 10, 5, &["-b:a".into(), "96k".into()]));
    }

    #[test]
    fn publish_keeps_the_first_and_eviction_takes_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let target = final_path(dir.path(), "k", "mp3");
        let first = part_path(dir.path(), "k");
        std::fs::write(&first, b"first").unwrap();
        publish(&first, &target).unwrap();
        let second = part_path(dir.path(), "k");
        std::fs::write(&second, b"second").unwrap();
        publish(&second, &target).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"first");
        assert!(!first.exists() && !second.exists());

        let old = SystemTime::now() - Duration::from_secs(100);
        for (name, age) in [("a.mp3", 30), ("b.mp3", 20), ("c.mp3", 10)] {
            let path = dir.path().join(name);
            std::fs::write(&path, [0u8; 100]).unwrap();
            let file = std::fs::File::options().append(true).open(&path).unwrap();
            file.set_modified(old - Duration::from_secs(age)).unwrap();
        }
        // a.mp3 is the oldest but was just used.
        touch(&dir.path().join("a.mp3"));
        let stale = dir.path().join("x.1-0.part");
        std::fs::write(&stale, b"junk").unwrap();
        std::fs::File::options()
            .append(true)
            .open(&stale)
            .unwrap()
            .set_modified(old - STALE_PART)
            .unwrap();
        // A part being written (locked) stays; one whose writer is gone goes.
        let live = dir.path().join("y.1-0.part");
        std::fs::write(&live, b"live").unwrap();
        let writer = std::fs::File::open(&live).unwrap();
        writer.try_lock().unwrap();
        let dead = dir.path().join("z.1-0.part");
        std::fs::write(&dead, b"dead").unwrap();
        let kept = evict(dir.path(), 210).unwrap();
        assert!(live.exists());
        assert!(!dead.exists());
        drop(writer);
        assert_eq!(kept, 205);
        assert!(dir.path().join("a.mp3").exists());
        assert!(!dir.path().join("b.mp3").exists());
        assert!(dir.path().join("c.mp3").exists());
        assert!(!stale.exists());
    }
}
