//! What tonearm writes holds secrets (password hashes, hashes of keys and tokens,
//! the library's paths), so it is private to the user running it: the process
//! creates files 0600 and folders 0700, and a database made before is tightened.

use std::path::Path;

/// New files and folders of this process: no access for group and others. Called
/// first thing in `main`, before any thread or file exists.
pub fn restrict_new_files() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

/// Takes group and other access away from `path` if it exists (a database made by an
/// older tonearm, or by a process with a wider umask).
pub fn make_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(metadata) = std::fs::metadata(path) else {
            return;
        };
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 {
            let private = std::fs::Permissions::from_mode(mode & 0o700);
            match std::fs::set_permissions(path, private) {
                Ok(()) => tracing::info!("made {} private to its owner", path.display()),
                Err(e) => tracing::warn!("cannot make {} private: {e}", path.display()),
            }
        }
    }
}

/// Warns when the config file can be read by others (it may name a database
/// password); it is the operator's file, so it is not changed.
pub fn check_config(data_dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = data_dir.join("config.toml");
        if let Ok(metadata) = std::fs::metadata(&path) {
            if metadata.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    "{} can be read by other users; `chmod 600` it",
                    path.display()
                );
            }
        }
    }
}
