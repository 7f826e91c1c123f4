//! The path table: where each source lives on each platform.
//!
//! Managed paths are fixed: no environment variable (`HOME`, `XDG_*`,
//! `USER` …) moves them. `--root DIR` reads every path under `DIR`.

use std::path::PathBuf;

/// The default preferences domain.
pub const DEFAULT_DOMAIN: &str = "dev.mandate";

/// Which path table applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    /// `/etc/mandate`, `/var/lib/mandate`.
    Linux,
    /// `/Library/Application Support/Mandate`, `/Library/Managed Preferences`.
    Macos,
}

impl Platform {
    /// The platform this binary runs on.
    pub fn current() -> Platform {
        if cfg!(target_os = "macos") {
            Platform::Macos
        } else {
            Platform::Linux
        }
    }

    /// The one platform whose paths a stand-in tree (`--root DIR`) holds:
    /// `/etc/mandate`, `/var/lib/mandate` or `/home` for Linux;
    /// `/Library/Application Support/Mandate`, `/Library/Managed Preferences`
    /// or `/Users` for macOS. `None` when it holds both or neither.
    pub fn infer_under(root: &std::path::Path) -> Option<Platform> {
        let has = |platform: Platform| {
            [
                platform.config_dir(),
                platform.state_dir(),
                platform.home_under_root(""),
            ]
            .iter()
            .chain(
                (platform == Platform::Macos)
                    .then(|| platform.managed_preferences())
                    .iter(),
            )
            .any(|p| root.join(p.strip_prefix("/").unwrap_or(p)).is_dir())
        };
        match (has(Platform::Linux), has(Platform::Macos)) {
            (true, false) => Some(Platform::Linux),
            (false, true) => Some(Platform::Macos),
            _ => None,
        }
    }

    /// `linux` or `macos`.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Linux => "linux",
            Platform::Macos => "macos",
        }
    }

    /// The directory holding `policy.d/` and `trust.toml`.
    pub fn config_dir(self) -> PathBuf {
        match self {
            Platform::Linux => PathBuf::from("/etc/mandate"),
            Platform::Macos => PathBuf::from("/Library/Application Support/Mandate"),
        }
    }

    /// Local policy files (`system` source).
    pub fn policy_dir(self) -> PathBuf {
        self.config_dir().join("policy.d")
    }

    /// The installed trust root.
    pub fn trust_root(self) -> PathBuf {
        self.config_dir().join("trust.toml")
    }

    /// Root-owned state: the cloud cache, the rollback state, `effective.json`.
    pub fn state_dir(self) -> PathBuf {
        match self {
            Platform::Linux => PathBuf::from("/var/lib/mandate"),
            Platform::Macos => PathBuf::from("/Library/Application Support/Mandate/state"),
        }
    }

    /// The directory of machine-wide managed preferences (macOS).
    pub fn managed_preferences(self) -> PathBuf {
        PathBuf::from("/Library/Managed Preferences")
    }

    /// The machine-wide managed preferences plist for `domain` (`mdm` source).
    pub fn mdm_plist(self, domain: &str) -> PathBuf {
        self.managed_preferences().join(format!("{domain}.plist"))
    }

    /// The per-user managed preferences plist (`mdm-user` source).
    pub fn mdm_user_plist(self, user: &str, domain: &str) -> PathBuf {
        self.managed_preferences()
            .join(user)
            .join(format!("{domain}.plist"))
    }

    /// Where a user's config lives under `--root` (home directories in the stand-in tree).
    pub fn home_under_root(self, user: &str) -> PathBuf {
        match self {
            Platform::Linux => PathBuf::from("/home").join(user),
            Platform::Macos => PathBuf::from("/Users").join(user),
        }
    }

    /// The user config file relative to a home directory.
    pub fn user_config_in_home(self) -> PathBuf {
        match self {
            Platform::Linux => PathBuf::from(".config/mandate/config.toml"),
            Platform::Macos => PathBuf::from("Library/Application Support/dev.mandate/config.toml"),
        }
    }
}

impl std::str::FromStr for Platform {
    type Err = String;

    fn from_str(s: &str) -> Result<Platform, String> {
        match s {
            "linux" => Ok(Platform::Linux),
            "macos" => Ok(Platform::Macos),
            other => Err(format!("unknown platform `{other}`: use linux or macos")),
        }
    }
}
