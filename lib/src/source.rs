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
/// One structure, rendered for people the way they already read locations:
/// `file:line:col` for text files, `file [id vN]:line:col` inside a signed
/// bundle, `file: Requirements > sandbox.mode` for a plist value,
/// `file > Policy:line:col` for a document held in a plist key, and a plain
/// description (`-c sandbox.mode=…`, `command line`) where no file holds
/// the value.
///
/// In JSON a location is two keys beside each other (put it in a struct
/// with `#[serde(flatten)]`): `location`, the human string, and `at`, the
/// structure (`path`, `plist_key`, `bundle`, `line`, `column`, each only
/// when known); a location that names no file has no `at`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The file path, or the description when [`Location::is_file`] is false.
    pub origin: String,
    /// 1-based line in the text, when it is a text document.
    pub line: Option<u32>,
    /// 1-based column in the text, when known.
    pub column: Option<u32>,
    /// Whether it is a description, and the plist key, bundle and note,
    /// when there are any: rare, so kept out of line and every location
    /// (in every error and refusal) stays small.
    within: Option<Box<Within>>,
}

/// The rarer parts of a [`Location`].
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Within {
    /// `origin` is a description, not a file.
    described: bool,
    plist_key: Option<String>,
    bundle: Option<BundleRef>,
    note: Option<String>,
}

/// A signed bundle named in a location: its policy id and version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BundleRef {
    /// The policy id.
    pub id: String,
    /// The policy version.
    pub version: u64,
}

impl Location {
    /// A location naming only a file.
    pub fn new(origin: impl Into<String>) -> Location {
        Location {
            origin: origin.into(),
            line: None,
            column: None,
            within: None,
        }
    }

    /// Whether `origin` names a file (false for `command line`, `-c …` and
    /// the descriptions resolution gives values no file holds).
    pub fn is_file(&self) -> bool {
        !self.within.as_ref().is_some_and(|w| w.described)
    }

    /// The plist key path inside the file (`Requirements > sandbox.mode`,
    /// or `Policy` for a document held in a plist).
    pub fn plist_key(&self) -> Option<&str> {
        self.within.as_ref()?.plist_key.as_deref()
    }

    /// The signed bundle the position is in.
    pub fn bundle(&self) -> Option<&BundleRef> {
        self.within.as_ref()?.bundle.as_ref()
    }

    /// What became of the value there (`kept in lockdown`), shown after the place.
    pub fn note(&self) -> Option<&str> {
        self.within.as_ref()?.note.as_deref()
    }

    /// The same place with its rarer parts changed by `change`.
    fn with(&self, change: impl FnOnce(&mut Within)) -> Location {
        let mut within = self.within.as_deref().cloned().unwrap_or_default();
        change(&mut within);
        Location {
            within: (within != Within::default()).then(|| Box::new(within)),
            ..self.clone()
        }
    }

    /// A place no file holds, in words (`command line`, `-c sandbox.mode=…`,
    /// `lockdown value of the schema`).
    pub fn described(text: impl Into<String>) -> Location {
        Location::new(text).with(|w| w.described = true)
    }

    /// The same place at a line and column (of the file, or of the document
    /// held in its plist key or bundle).
    pub fn at(&self, line: u32, column: u32) -> Location {
        Location {
            line: Some(line),
            column: Some(column),
            ..self.without_note()
        }
    }

    /// The same file at a plist key path (`Requirements > sandbox.mode`).
    pub fn with_detail(&self, key_path: impl Into<String>) -> Location {
        let key_path = key_path.into();
        self.with(|w| w.plist_key = Some(key_path))
    }

    /// The same place inside the signed bundle `id` version `version`.
    pub fn in_bundle(&self, id: impl Into<String>, version: u64) -> Location {
        let bundle = BundleRef {
            id: id.into(),
            version,
        };
        self.with(|w| w.bundle = Some(bundle))
    }

    /// The same place with a note on what became of the value there.
    pub fn noted(&self, note: impl Into<String>) -> Location {
        let note = note.into();
        self.with(|w| w.note = Some(note))
    }

    /// The same place without its note.
    pub fn without_note(&self) -> Location {
        if self.note().is_none() {
            return self.clone();
        }
        self.with(|w| w.note = None)
    }

    /// The place as people read it (what `Display` writes).
    fn shown(&self) -> String {
        self.to_string()
    }

    /// The structure of a location that names a file (`None` for a description).
    pub fn structured(&self) -> Option<At<'_>> {
        self.is_file().then(|| At {
            path: &self.origin,
            plist_key: self.plist_key(),
            bundle: self.bundle(),
            line: self.line,
            column: self.column,
        })
    }
}

impl Default for Location {
    /// No place at all (an empty description).
    fn default() -> Location {
        Location::described("")
    }
}

impl From<&str> for Location {
    /// A file.
    fn from(path: &str) -> Location {
        Location::new(path)
    }
}

impl From<String> for Location {
    /// A file.
    fn from(path: String) -> Location {
        Location::new(path)
    }
}

impl From<&String> for Location {
    /// A file.
    fn from(path: &String) -> Location {
        Location::new(path.as_str())
    }
}

impl From<&Location> for Location {
    fn from(location: &Location) -> Location {
        location.clone()
    }
}

/// A location compares equal to the text people read.
impl PartialEq<str> for Location {
    fn eq(&self, other: &str) -> bool {
        self.shown() == other
    }
}

impl PartialEq<&str> for Location {
    fn eq(&self, other: &&str) -> bool {
        self.shown() == *other
    }
}

impl PartialEq<String> for Location {
    fn eq(&self, other: &String) -> bool {
        self.shown() == *other
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        // A key holding a document that lines count in: `file > Policy:3:1`;
        // a key path to a value: `file: Requirements > sandbox.mode`.
        let document_key = self.line.is_some() || self.bundle().is_some();
        if let Some(key) = self.plist_key()
            && document_key
        {
            write!(f, " > {key}")?;
        }
        if let Some(b) = self.bundle() {
            write!(f, " [{} v{}]", b.id, b.version)?;
        }
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(key) = self.plist_key()
            && !document_key
        {
            write!(f, ": {key}")?;
        }
        if let Some(note) = self.note() {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

/// The structure of a location, as `at` in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct At<'a> {
    /// The file.
    pub path: &'a str,
    /// The plist key path inside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plist_key: Option<&'a str>,
    /// The signed bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<&'a BundleRef>,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

/// Two keys, `location` (the human string) and `at` (the structure, for a
/// file); meant to be flattened into the object that has the location.
impl Serialize for Location {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let at = self.structured();
        let mut map = serializer.serialize_map(Some(1 + usize::from(at.is_some())))?;
        map.serialize_entry("location", &self.to_string())?;
        if let Some(at) = at {
            map.serialize_entry("at", &at)?;
        }
        map.end()
    }
}

/// Reads what [`Location`]'s `Serialize` writes: the structure from `at`,
/// or a description when there is none.
impl<'de> Deserialize<'de> for Location {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Location, D::Error> {
        #[derive(Deserialize)]
        struct OwnedAt {
            path: String,
            plist_key: Option<String>,
            bundle: Option<BundleRef>,
            line: Option<u32>,
            column: Option<u32>,
        }
        #[derive(Deserialize)]
        struct Shape {
            location: String,
            at: Option<OwnedAt>,
        }
        let shape = Shape::deserialize(deserializer)?;
        Ok(match shape.at {
            None => Location::described(shape.location),
            Some(at) => {
                let mut l = Location::new(at.path);
                l.line = at.line;
                l.column = at.column;
                let within = Within {
                    described: false,
                    plist_key: at.plist_key,
                    bundle: at.bundle,
                    note: None,
                };
                if within != Within::default() {
                    l.within = Some(Box::new(within));
                }
                // Whatever the structure does not hold (a note) is in the text.
                let shown = l.to_string();
                match shape
                    .location
                    .strip_prefix(&shown)
                    .and_then(|rest| rest.strip_prefix(" ("))
                    .and_then(|rest| rest.strip_suffix(')'))
                {
                    Some(note) => l.noted(note),
                    None => l,
                }
            }
        })
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
        let bundle = Location::new("/etc/mandate/policy.d/10-base.bundle").in_bundle("acme", 3);
        assert_eq!(
            bundle.at(13, 1).to_string(),
            "/etc/mandate/policy.d/10-base.bundle [acme v3]:13:1"
        );
        let policy = p.with_detail("Policy");
        assert_eq!(
            policy.at(4, 9).to_string(),
            "/Library/Managed Preferences/dev.mandate.plist > Policy:4:9"
        );
        assert_eq!(
            policy.in_bundle("acme", 3).at(4, 9).to_string(),
            "/Library/Managed Preferences/dev.mandate.plist > Policy [acme v3]:4:9"
        );
        assert_eq!(
            l.at(4, 1).noted("kept in lockdown").to_string(),
            "/etc/mandate/policy.d/10-base.toml:4:1 (kept in lockdown)"
        );
        assert_eq!(Location::described("-c a=b").to_string(), "-c a=b");
        // A position keeps the plist key and bundle, and drops a note.
        let at = policy.in_bundle("acme", 3).noted("n").at(1, 2);
        assert_eq!(at.plist_key(), Some("Policy"));
        assert_eq!(at.bundle().map(|b| b.version), Some(3));
        assert_eq!(at.note(), None);
        // Small, since every problem and refusal carries one.
        assert!(size_of::<Location>() <= 48);
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        value: u32,
        #[serde(flatten)]
        location: Location,
        reason: String,
    }

    #[test]
    fn locations_in_json_are_text_and_structure_side_by_side() {
        let located = Holder {
            value: 1,
            location: Location::new("/p.plist")
                .with_detail("Policy")
                .in_bundle("acme", 7)
                .at(3, 5)
                .noted("kept in lockdown"),
            reason: "r".into(),
        };
        let text = serde_json::to_string(&located).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"value":1,"location":"/p.plist > Policy [acme v7]:3:5 (kept in lockdown)","at":{"path":"/p.plist","plist_key":"Policy","bundle":{"id":"acme","version":7},"line":3,"column":5},"reason":"r"}"#
        );
        let back: Option<Holder> = serde_json::from_str(&text).ok();
        assert_eq!(back.as_ref(), Some(&located));

        // A place no file holds: the text only.
        let described = Holder {
            value: 2,
            location: Location::described("command line"),
            reason: "r".into(),
        };
        let text = serde_json::to_string(&described).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"value":2,"location":"command line","reason":"r"}"#
        );
        let back: Option<Holder> = serde_json::from_str(&text).ok();
        assert_eq!(back.as_ref(), Some(&described));
    }
}
