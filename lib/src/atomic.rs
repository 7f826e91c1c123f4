//! Crash-safe file writes.
//!
//! [`write_atomic`] replaces a file so that a reader sees either the old
//! content or the new content, never a mix, even if the machine loses power
//! half way: the bytes go to a fresh temporary file in the same directory
//! (created with `O_EXCL`, so nothing that already exists is ever written
//! through), are flushed to disk, and the temporary file is then renamed over
//! the target and the directory entry flushed too.
//!
//! [`write_new`] does the same for files that must never be overwritten
//! (secret keys): the final step is a hard link, which fails when the target
//! exists.
//!
//! A crash between writing the temporary file and the rename leaves a
//! `.NAME.XXXXXXXXXXXXXXXX.tmp` file beside the target; the target itself is
//! untouched and the next write picks a new temporary name.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How many temporary names to try before giving up.
const TEMP_ATTEMPTS: usize = 8;

/// Replaces `path` with `bytes` atomically, leaving the file with permission
/// bits `mode` (exactly, whatever the umask).
///
/// The file is written to a temporary file in the same directory, synced,
/// renamed over `path`, and the directory is synced. On error the temporary
/// file is removed and `path` keeps its previous content.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("rollback.json");
/// mandate::atomic::write_atomic(&path, b"{}\n", 0o644)?;
/// assert_eq!(std::fs::read(&path)?, b"{}\n");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let (dir, name) = split(path)?;
    let (temp, file) = create_temp(dir, name, mode)?;
    let result = fill(file, bytes, mode).and_then(|()| fs::rename(&temp, path));
    if let Err(error) = result {
        let _ = fs::remove_file(&temp);
        return Err(error);
    }
    sync_dir(dir)
}

/// Creates `path` with `bytes` and permission bits `mode`, refusing to touch
/// an existing file (`ErrorKind::AlreadyExists`).
///
/// The content is complete before the name appears: the bytes go to a
/// temporary file that is then hard-linked to `path`.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let (dir, name) = split(path)?;
    let (temp, file) = create_temp(dir, name, mode)?;
    let result = fill(file, bytes, mode).and_then(|()| fs::hard_link(&temp, path));
    let _ = fs::remove_file(&temp);
    result?;
    sync_dir(dir)
}

fn split(path: &Path) -> io::Result<(&Path, &std::ffi::OsStr)> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        )
    })?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    Ok((dir, name))
}

fn create_temp(dir: &Path, name: &std::ffi::OsStr, mode: u32) -> io::Result<(PathBuf, File)> {
    let mut last = None;
    for _ in 0..TEMP_ATTEMPTS {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| io::Error::other(e.to_string()))?;
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{suffix}.tmp"));
        let temp = dir.join(temp_name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode & 0o700)
            .open(&temp)
        {
            Ok(file) => return Ok((temp, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => last = Some(error),
            Err(error) => return Err(error),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("could not create a temporary file")))
}

fn fill(mut file: File, bytes: &[u8], mode: u32) -> io::Result<()> {
    file.write_all(bytes)?;
    file.set_permissions(Permissions::from_mode(mode))?;
    file.sync_all()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_content_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"one", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(mode_of(&path), 0o600);
        write_atomic(&path, b"two", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(mode_of(&path), 0o644);
        assert_eq!(leftovers(dir.path()), ["state.json"]);
    }

    #[test]
    fn crash_before_rename_keeps_old_file_and_next_write_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rollback.json");
        write_atomic(&path, b"old", 0o644).unwrap();

        // Simulate a crash after the temporary file was written but before
        // the rename: only the temporary file exists, half written.
        let stale = dir.path().join(".rollback.json.0011223344556677.tmp");
        fs::write(&stale, b"ne").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"old");

        write_atomic(&path, b"new", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        // The stale temporary file is not the target and is left alone.
        assert_eq!(fs::read(&stale).unwrap(), b"ne");
    }

    #[test]
    fn failed_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a non-empty directory: rename over it fails.
        let target = dir.path().join("busy");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside"), b"x").unwrap();
        assert!(write_atomic(&target, b"data", 0o644).is_err());
        assert_eq!(leftovers(dir.path()), ["busy"]);
    }

    #[test]
    fn missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent").join("file");
        let error = write_atomic(&path, b"x", 0o644).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn write_new_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        write_new(&path, b"secret", 0o600).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        let error = write_new(&path, b"other", 0o600).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"secret");
        assert_eq!(leftovers(dir.path()), ["root.key"]);
    }

    #[test]
    fn does_not_follow_a_symlinked_target() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::write(&elsewhere, b"keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        write_atomic(&link, b"new", 0o644).unwrap();
        assert_eq!(fs::read(&elsewhere).unwrap(), b"keep");
        assert!(
            !fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(write_new(&link, b"x", 0o600).is_err());
    }
}

/// How long [`lock`] waits for a lock held by another process.
pub const LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it and did not let go in time.
    #[error(
        "{}: another process has held this lock for more than {}s (a running `mandate sync` or `apply`); try again, and if it persists find the holder with `fuser -v {}`",
        path.display(), timeout.as_secs(), path.display()
    )]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// How long it waited.
        timeout: std::time::Duration,
    },
    /// The lock file cannot be opened, or is not this user's alone.
    #[error("{}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: io::Error,
    },
}

/// An exclusive `flock` on a lock file, released when dropped.
#[derive(Debug)]
pub struct Lock(#[allow(dead_code)] std::os::fd::OwnedFd);

/// Takes an exclusive lock on `path`, waiting at most `timeout` (zero: try
/// once). The lock file is created 0600, never through a symlink, and must
/// belong to this user with no access for anyone else: `flock` works on any
/// descriptor, so a lock file others can open is a lock others can hold to
/// freeze root's `sync` and `apply`. A lock file with wider modes that this
/// user owns is narrowed; one owned by someone else is refused.
pub fn lock(path: &Path, timeout: std::time::Duration) -> Result<Lock, LockError> {
    use rustix::fs::{FlockOperation, Mode, OFlags};
    let io = |source: io::Error| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    let fd = rustix::fs::open(
        path,
        OFlags::CREATE | OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|e| io(e.into()))?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| io(e.into()))?;
    if stat.st_uid != rustix::process::geteuid().as_raw() {
        return Err(io(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "the lock file belongs to uid {}, not to this user: remove it (only its owner's processes may hold it)",
                stat.st_uid
            ),
        )));
    }
    if stat.st_mode & 0o077 != 0 {
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o600)).map_err(|e| io(e.into()))?;
    }
    let start = std::time::Instant::now();
    loop {
        match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(Lock(fd)),
            Err(rustix::io::Errno::WOULDBLOCK) if start.elapsed() < timeout => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(rustix::io::Errno::WOULDBLOCK) => {
                return Err(LockError::Busy {
                    path: path.to_path_buf(),
                    timeout,
                });
            }
            Err(e) => return Err(io(e.into())),
        }
    }
}

/// Creates `dir` and any missing parents with mode 0755 exactly (whatever
/// the umask), and checks that `dir` is a real directory (not a symlink)
/// owned by `owner` and writable by no one else: state is never written
/// through a directory someone else controls.
pub fn ensure_owned_dir(dir: &Path, owner: u32) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|p| !p.as_os_str().is_empty() && fs::symlink_metadata(p).is_err())
        .collect();
    fs::create_dir_all(dir)?;
    for created in missing {
        fs::set_permissions(created, Permissions::from_mode(0o755))?;
    }
    let meta = fs::symlink_metadata(dir)?;
    let refuse = |why: String| {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{}: {why}; state is not written there", dir.display()),
        ))
    };
    if !meta.file_type().is_dir() {
        return refuse("not a directory (a symlink?)".into());
    }
    if meta.uid() != owner {
        return refuse(format!("owned by uid {}, not {owner}", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return refuse(format!(
            "writable by others (mode {:o})",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod lock_tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_lock_file_is_private_and_a_wide_one_is_narrowed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.lock");
        fs::write(&path, b"").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o666)).unwrap();
        let _held = lock(&path, LOCK_TIMEOUT).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_held_lock_times_out_with_a_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.lock");
        let _held = lock(&path, LOCK_TIMEOUT).unwrap();
        let err = lock(&path, std::time::Duration::from_millis(120)).unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }), "{err}");
        assert!(err.to_string().contains("another process"), "{err}");
    }

    #[test]
    fn a_lock_file_through_a_symlink_or_of_another_owner_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        fs::write(&target, b"").unwrap();
        let link = dir.path().join("state.lock");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(
            lock(&link, LOCK_TIMEOUT),
            Err(LockError::Io { .. })
        ));
        if rustix::process::geteuid().is_root() {
            let foreign = dir.path().join("foreign.lock");
            fs::write(&foreign, b"").unwrap();
            std::os::unix::fs::chown(&foreign, Some(65534), Some(65534)).unwrap();
            let err = lock(&foreign, LOCK_TIMEOUT).unwrap_err();
            assert!(err.to_string().contains("belongs to uid 65534"), "{err}");
        } else {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("skipped: the foreign-owner lock case needs root to chown");
            }
        }
    }

    #[test]
    fn state_directories_are_made_0755_and_must_be_owned() {
        let dir = tempfile::tempdir().unwrap();
        let me = rustix::process::geteuid().as_raw();
        let deep = dir.path().join("var/lib/mandate/trust");
        ensure_owned_dir(&deep, me).unwrap();
        assert_eq!(fs::metadata(&deep).unwrap().mode() & 0o777, 0o755);
        fs::set_permissions(&deep, Permissions::from_mode(0o777)).unwrap();
        assert!(ensure_owned_dir(&deep, me).is_err());
        assert!(ensure_owned_dir(&deep, me + 1).is_err());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path(), &link).unwrap();
        assert!(ensure_owned_dir(&link, me).is_err());
    }
}
