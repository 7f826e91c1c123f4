//! Where settings come from: the ordered set of sources and the location of every value.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A source of settings.
///
/// The declaration order is the default precedence, highest first: the four
/// managed sources, then the unmanaged ones. A signed trust root may reorder
/// the managed sources among themselves (see [`ManagedSource`]); unmanaged
/// sources always rank below every managed requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// Machine-wide macOS managed preferences (`/Library/Managed Preferences/<domain>.plist`).
    Mdm,
    /// The cached cloud bundle written by `mandate sync`.
    Cloud,
    /// Local policy files in `policy.d/`.
    System,
    /// Per-user macOS managed preferences (`/Library/Managed Preferences/<user>/<domain>.plist`).
    MdmUser,
    /// `-c KEY=VALUE` on the command line.
    Session,
    /// `.mandate.toml` of a trusted project.
    Project,
    /// The user's `config.toml`.
    User,
    /// The schema's defaults.
    Default,
}

impl SourceKind {
    /// Every source, highest default precedence first.
    pub const ALL: [SourceKind; 8] = [
        SourceKind::Mdm,
        SourceKind::Cloud,
        SourceKind::System,
        SourceKind::MdmUser,
        SourceKind::Session,
        SourceKind::Project,
        SourceKind::User,
        SourceKind::Default,
    ];

    /// The name used on the command line, in JSON and in trust roots.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Mdm => "mdm",
            SourceKind::Cloud => "cloud",
            SourceKind::System => "system",
            SourceKind::MdmUser => "mdm-user",
            SourceKind::Session => "session",
            SourceKind::Project => "project",
            SourceKind::User => "user",
            SourceKind::Default => "default",
        }
    }

    /// Whether the source is managed (holds policy documents and requirements).
    pub fn is_managed(self) -> bool {
        self.managed().is_some()
    }

    /// The managed source this is, if it is one.
    pub fn managed(self) -> Option<ManagedSource> {
        match self {
            SourceKind::Mdm => Some(ManagedSource::Mdm),
            SourceKind::Cloud => Some(ManagedSource::Cloud),
            SourceKind::System => Some(ManagedSource::System),
            SourceKind::MdmUser => Some(ManagedSource::MdmUser),
            _ => None,
        }
    }

    /// Parses a source name (`mdm`, `cloud`, `system`, `mdm-user`, …).
    pub fn from_name(name: &str) -> Option<SourceKind> {
        SourceKind::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One of the four managed sources; the order of declaration is the default
/// managed precedence (highest first), which a signed trust root may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ManagedSource {
    /// See [`SourceKind::Mdm`].
    Mdm,
    /// See [`SourceKind::Cloud`].
    Cloud,
    /// See [`SourceKind::System`].
    System,
    /// See [`SourceKind::MdmUser`].
    MdmUser,
}

impl ManagedSource {
    /// The managed sources in default precedence order, highest first.
    pub const DEFAULT_ORDER: [ManagedSource; 4] = [
        ManagedSource::Mdm,
        ManagedSource::Cloud,
        ManagedSource::System,
        ManagedSource::MdmUser,
    ];

    /// The general source kind.
    pub fn kind(self) -> SourceKind {
        match self {
            ManagedSource::Mdm => SourceKind::Mdm,
            ManagedSource::Cloud => SourceKind::Cloud,
            ManagedSource::System => SourceKind::System,
            ManagedSource::MdmUser => SourceKind::MdmUser,
        }
    }

    /// The name used in trust roots and output (`mdm`, `cloud`, `system`, `mdm-user`).
    pub fn name(self) -> &'static str {
        self.kind().name()
    }

    /// Parses a managed source name.
    pub fn from_name(name: &str) -> Option<ManagedSource> {
        SourceKind::from_name(name).and_then(SourceKind::managed)
    }
}

impl fmt::Display for ManagedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where exactly a value, a constraint or a whole layer came from.
///
/// Displayed the way people already read locations: `file:line` for text
/// files, `file: Requirements > sandbox.mode` for plists, `-c sandbox.mode=…`
/// for the command line, `url (bundle acme-baseline v7)` for the cloud.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    /// The file, URL or flag.
    pub origin: String,
    /// 1-based line in `origin`, when it is a text file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column in `origin`, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// A path inside the origin that is not a line, such as a plist key path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Location {
    /// A location naming only its origin.
    pub fn new(origin: impl Into<String>) -> Location {
        Location {
            origin: origin.into(),
            line: None,
            column: None,
            detail: None,
        }
    }

    /// The same origin at a line and column.
    pub fn at(&self, line: u32, column: u32) -> Location {
        Location {
            origin: self.origin.clone(),
            line: Some(line),
            column: Some(column),
            detail: None,
        }
    }

    /// The same origin with a detail such as a plist key path (`Requirements > sandbox.mode`).
    pub fn with_detail(&self, detail: impl Into<String>) -> Location {
        Location {
            origin: self.origin.clone(),
            line: self.line,
            column: self.column,
            detail: Some(detail.into()),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_order_is_declaration_order() {
        let mut sorted = SourceKind::ALL;
        sorted.sort();
        assert_eq!(sorted, SourceKind::ALL);
        assert!(SourceKind::MdmUser < SourceKind::Session);
        assert_eq!(
            ManagedSource::DEFAULT_ORDER.map(ManagedSource::kind),
            [
                SourceKind::Mdm,
                SourceKind::Cloud,
                SourceKind::System,
                SourceKind::MdmUser
            ]
        );
    }

    #[test]
    fn names_round_trip() {
        for s in SourceKind::ALL {
            assert_eq!(SourceKind::from_name(s.name()), Some(s));
        }
        assert_eq!(ManagedSource::from_name("session"), None);
        assert_eq!(
            ManagedSource::from_name("mdm-user"),
            Some(ManagedSource::MdmUser)
        );
    }

    #[test]
    fn locations_display() {
        let l = Location::new("/etc/mandate/policy.d/10-base.toml");
        assert_eq!(
            l.at(4, 1).to_string(),
            "/etc/mandate/policy.d/10-base.toml:4:1"
        );
        let p = Location::new("/Library/Managed Preferences/dev.mandate.plist");
        assert_eq!(
            p.with_detail("Requirements > sandbox.mode").to_string(),
            "/Library/Managed Preferences/dev.mandate.plist: Requirements > sandbox.mode"
        );
    }
}
