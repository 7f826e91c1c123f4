//! Reading managed files safely.
//!
//! A managed file counts only when the file and every directory above it
//! (up to `/`, or up to `--root DIR`, the stand-in for `/`) are owned by the
//! trusted owner (root, or the owner of `--root DIR`), are not writable by
//! group or others, and are not symbolic links. Every check is made on the
//! opened descriptor (`openat` with `O_NOFOLLOW`, then `fstat`), never on a
//! path that could be swapped between check and use. Files are opened
//! non-blocking, so a FIFO cannot hang the reader, and are read up to a size
//! cap ([`MAX_MANAGED_SIZE`]) with [`read_bounded`], which never reads more
//! than the cap plus one byte and copies the file once.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

/// The largest managed file or signed bundle, in bytes (32 MiB): room for
/// an allowlist of 500,000 domains, signed.
///
/// One cap for every managed document: policy files and bundles in
/// `policy.d/`, managed preferences plists, the cached cloud bundle and the
/// download that fills it, and the envelope a device verifies. `mandate
/// sign` refuses to write a bundle larger than this, so a device never
/// refuses a bundle for its size that the signer produced.
pub const MAX_MANAGED_SIZE: u64 = 32 << 20;

/// Why a managed file was not read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Nothing at that path.
    #[error("{path}: not found")]
    Absent {
        /// The path.
        path: PathBuf,
    },
    /// The path or one of its parents is a symbolic link.
    #[error(
        "{path}: is a symbolic link; managed files must be regular files (replace the link with the file itself)"
    )]
    Symlink {
        /// The path.
        path: PathBuf,
    },
    /// Not a regular file (or, for a parent, not a directory).
    #[error("{path}: is a {found}, not a {expected}")]
    WrongType {
        /// The path.
        path: PathBuf,
        /// What it is.
        found: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// Owned by someone other than the trusted owner.
    #[error(
        "{path}: owned by uid {uid}, not by uid {expected}; run `chown {expected} {path}` if its content is trusted"
    )]
    Owner {
        /// The path.
        path: PathBuf,
        /// Its owner.
        uid: u32,
        /// The trusted owner.
        expected: u32,
    },
    /// Writable by group or others.
    #[error("{path}: writable by {who} (mode {mode:o}); run `chmod go-w {path}`")]
    Writable {
        /// The path.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// `group`, `others`, or both.
        who: &'static str,
    },
    /// Larger than the cap.
    #[error("{path}: {size} bytes, more than the {cap}-byte limit")]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The cap.
        cap: u64,
    },
    /// Any other I/O failure.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl FileError {
    /// The path concerned.
    pub fn path(&self) -> &Path {
        match self {
            FileError::Absent { path }
            | FileError::Symlink { path }
            | FileError::WrongType { path, .. }
            | FileError::Owner { path, .. }
            | FileError::Writable { path, .. }
            | FileError::TooLarge { path, .. }
            | FileError::Io { path, .. } => path,
        }
    }

    /// The message without the leading path, for reports that name the file already.
    pub fn reason(&self) -> String {
        let text = self.to_string();
        let prefix = format!("{}: ", self.path().display());
        text.strip_prefix(&prefix)
            .map(str::to_owned)
            .unwrap_or(text)
    }

    /// Whether the file simply is not there (as opposed to being unsafe or unreadable).
    pub fn is_absent(&self) -> bool {
        matches!(self, FileError::Absent { .. })
    }
}

/// Where the trusted tree starts and who must own it.
#[derive(Clone, Debug)]
pub struct TrustedTree {
    root: PathBuf,
    owner: u32,
    /// Whether `root` itself must pass the ownership and mode checks (true for `/`).
    check_root: bool,
}

impl TrustedTree {
    /// The real file system: everything owned by root (uid 0).
    pub fn system() -> TrustedTree {
        TrustedTree {
            root: PathBuf::from("/"),
            owner: 0,
            check_root: true,
        }
    }

    /// A tree under `dir` standing in for `/`: files must be owned by the
    /// owner of `dir`; the directories above `dir` are not checked.
    pub fn under(dir: &Path) -> Result<TrustedTree, FileError> {
        let meta = std::fs::metadata(dir).map_err(|source| io_error(dir, source))?;
        use std::os::unix::fs::MetadataExt;
        Ok(TrustedTree {
            root: dir.to_path_buf(),
            owner: meta.uid(),
            check_root: false,
        })
    }

    /// The directory standing in for `/`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The trusted owner's uid.
    pub fn owner(&self) -> u32 {
        self.owner
    }

    /// The real path of a logical absolute path (`/etc/mandate` → `<root>/etc/mandate`).
    pub fn real(&self, logical: &Path) -> PathBuf {
        let mut p = self.root.clone();
        p.extend(
            logical
                .components()
                .filter(|c| matches!(c, Component::Normal(_))),
        );
        p
    }

    /// Reads a managed file at a logical path, after every check.
    pub fn read(&self, logical: &Path) -> Result<Vec<u8>, FileError> {
        let (parent, name) = split(logical)?;
        let dir = self.open_dir(&parent)?;
        self.read_at(&dir, &parent, name)
    }

    /// Lists a managed directory: the names of its entries, sorted bytewise,
    /// with the directory's descriptor for [`TrustedTree::read_in`].
    pub fn list(&self, logical: &Path) -> Result<ManagedDir, FileError> {
        let fd = self.open_dir(logical)?;
        let real = self.real(logical);
        let mut names = Vec::new();
        let dir = rustix::fs::Dir::read_from(&fd).map_err(|e| errno(&real, e))?;
        for entry in dir {
            let entry = entry.map_err(|e| errno(&real, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "." && name != ".." {
                names.push(name);
            }
        }
        names.sort();
        Ok(ManagedDir {
            fd,
            logical: logical.to_path_buf(),
            names,
        })
    }

    /// Reads the entry `name` of a listed managed directory, after every check.
    pub fn read_in(&self, dir: &ManagedDir, name: &str) -> Result<Vec<u8>, FileError> {
        self.read_at(&dir.fd, &dir.logical, name)
    }

    fn open_dir(&self, logical: &Path) -> Result<OwnedFd, FileError> {
        let mut real = self.root.clone();
        let mut fd: OwnedFd = rustix::fs::open(
            &self.root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| errno(&real, e))?;
        if self.check_root {
            self.check(&fd, &real, FileType::Directory)?;
        }
        for component in logical.components() {
            let Component::Normal(name) = component else {
                continue;
            };
            real.push(name);
            fd = rustix::fs::openat(
                &fd,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| self.open_error(&real, e, "directory"))?;
            self.check(&fd, &real, FileType::Directory)?;
        }
        Ok(fd)
    }

    fn read_at(&self, dir: &OwnedFd, logical_dir: &Path, name: &str) -> Result<Vec<u8>, FileError> {
        let real = self.real(logical_dir).join(name);
        let fd = rustix::fs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )
        .map_err(|e| self.open_error(&real, e, "regular file"))?;
        let stat = self.check(&fd, &real, FileType::RegularFile)?;
        read_bounded(File::from(fd), stat.st_size as u64, MAX_MANAGED_SIZE, &real)
    }

    fn open_error(&self, real: &Path, e: Errno, expected: &'static str) -> FileError {
        match e {
            Errno::NOENT => FileError::Absent {
                path: real.to_path_buf(),
            },
            Errno::LOOP => FileError::Symlink {
                path: real.to_path_buf(),
            },
            Errno::NOTDIR if expected == "directory" => {
                // O_NOFOLLOW|O_DIRECTORY on a symlink may report ENOTDIR.
                match std::fs::symlink_metadata(real) {
                    Ok(m) if m.file_type().is_symlink() => FileError::Symlink {
                        path: real.to_path_buf(),
                    },
                    _ => FileError::WrongType {
                        path: real.to_path_buf(),
                        found: "file",
                        expected,
                    },
                }
            }
            e => errno(real, e),
        }
    }

    fn check(
        &self,
        fd: &OwnedFd,
        real: &Path,
        expected: FileType,
    ) -> Result<rustix::fs::Stat, FileError> {
        let stat = rustix::fs::fstat(fd).map_err(|e| errno(real, e))?;
        let kind = FileType::from_raw_mode(stat.st_mode);
        if kind != expected {
            return Err(FileError::WrongType {
                path: real.to_path_buf(),
                found: type_name(kind),
                expected: type_name(expected),
            });
        }
        if stat.st_uid != self.owner {
            return Err(FileError::Owner {
                path: real.to_path_buf(),
                uid: stat.st_uid,
                expected: self.owner,
            });
        }
        let mode = stat.st_mode & 0o7777;
        let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
            (true, true) => Some("group and others"),
            (true, false) => Some("group"),
            (false, true) => Some("others"),
            (false, false) => None,
        };
        if let Some(who) = who {
            return Err(FileError::Writable {
                path: real.to_path_buf(),
                mode,
                who,
            });
        }
        Ok(stat)
    }
}

/// A managed directory opened and checked, with its sorted entry names.
#[derive(Debug)]
pub struct ManagedDir {
    fd: OwnedFd,
    logical: PathBuf,
    /// Entry names, sorted bytewise.
    pub names: Vec<String>,
}

/// Reads an open file of `size` bytes (as `fstat` reported it) whole, when
/// it is at most `cap` bytes: refused before reading when `size` is over the
/// cap, and never reads more than `cap + 1` bytes (a file that grows while
/// it is read is refused too). The bytes are read once, into a buffer of the
/// announced size.
pub fn read_bounded(file: File, size: u64, cap: u64, path: &Path) -> Result<Vec<u8>, FileError> {
    let too_large = |size| FileError::TooLarge {
        path: path.to_path_buf(),
        size,
        cap,
    };
    if size > cap {
        return Err(too_large(size));
    }
    // One byte more than announced, so reaching the end needs no regrowth.
    let mut bytes = Vec::with_capacity(size as usize + 1);
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| io_error(path, source))?;
    if bytes.len() as u64 > cap {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

fn split(logical: &Path) -> Result<(PathBuf, &str), FileError> {
    let name = logical
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| FileError::Absent {
            path: logical.to_path_buf(),
        })?;
    Ok((
        logical.parent().map(Path::to_path_buf).unwrap_or_default(),
        name,
    ))
}

fn type_name(kind: FileType) -> &'static str {
    match kind {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symbolic link",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Unknown => "file of unknown type",
    }
}

fn errno(path: &Path, e: Errno) -> FileError {
    io_error(path, std::io::Error::from(e))
}

fn io_error(path: &Path, source: std::io::Error) -> FileError {
    FileError::Io {
        path: path.to_path_buf(),
        source,
    }
}
