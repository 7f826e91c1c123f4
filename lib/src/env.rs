//! The one place the library reads the process environment.
//!
//! Everything else takes an [`Environment`] snapshot, so resolution is a
//! function of explicit inputs (and tests can give any they like).

use std::path::PathBuf;

use time::OffsetDateTime;

/// What the library needs to know about the process and the user.
#[derive(Clone, Debug)]
pub struct Environment {
    /// The user's config file (unmanaged), from the platform's conventions.
    pub user_config: Option<PathBuf>,
    /// The working directory (where `.mandate.toml` is looked for).
    pub cwd: Option<PathBuf>,
    /// The real user id.
    pub uid: u32,
    /// The real user's login name, from the user database (not `$USER`).
    pub user_name: Option<String>,
    /// The real user's home directory, from the user database (not `$HOME`):
    /// what `~` in a path setting means (see [`crate::kind`]).
    pub home: Option<PathBuf>,
    /// The current time.
    pub now: OffsetDateTime,
    /// `HTTPS_PROXY`/`https_proxy`, for `sync` only (a proxy is never trusted: the signature is).
    pub https_proxy: Option<String>,
    /// The directories of `PATH`, where agents' executables are looked for
    /// (`mandate agents`, and `apply` when the policy does not name the agents).
    pub search_path: Vec<PathBuf>,
}

impl Environment {
    /// Captures the environment of this process.
    #[allow(clippy::disallowed_methods)]
    pub fn capture() -> Environment {
        let uid = rustix::process::getuid().as_raw();
        Environment {
            // The same place `Platform::user_config_in_home` names under --root:
            // ~/.config/mandate (or $XDG_CONFIG_HOME) on Linux,
            // ~/Library/Application Support/dev.mandate on macOS.
            user_config: directories::BaseDirs::new().map(|d| {
                let dir = if cfg!(target_os = "macos") {
                    "dev.mandate"
                } else {
                    "mandate"
                };
                d.config_dir().join(dir).join("config.toml")
            }),
            cwd: std::env::current_dir().ok(),
            uid,
            user_name: uzers::get_user_by_uid(uid).map(|u| u.name().to_string_lossy().into_owned()),
            home: uzers::get_user_by_uid(uid)
                .map(|u| uzers::os::unix::UserExt::home_dir(&u).to_path_buf()),
            now: OffsetDateTime::now_utc(),
            https_proxy: std::env::var("HTTPS_PROXY")
                .or_else(|_| std::env::var("https_proxy"))
                .ok(),
            search_path: std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect())
                .unwrap_or_default(),
        }
    }

    /// A fixed environment with no user config and no working directory.
    pub fn fixed(now: OffsetDateTime) -> Environment {
        Environment {
            user_config: None,
            cwd: None,
            uid: 0,
            user_name: None,
            home: None,
            now,
            https_proxy: None,
            search_path: Vec::new(),
        }
    }
}

/// The `ssh-agent` socket named by `SSH_AUTH_SOCK`, if set and not empty.
#[allow(clippy::disallowed_methods)]
pub fn ssh_auth_sock() -> Option<PathBuf> {
    std::env::var_os("SSH_AUTH_SOCK")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Whether `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
#[allow(clippy::disallowed_methods)]
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Whether the locale says text is UTF-8: the first of `LC_ALL`, `LC_CTYPE`
/// and `LANG` that is set decides. No locale at all counts as UTF-8 (what
/// terminals use today); an explicit other one (`C`, `POSIX`,
/// `en_US.ISO-8859-1`) does not.
#[allow(clippy::disallowed_methods)]
pub fn locale_is_utf8() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .is_none_or(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}
