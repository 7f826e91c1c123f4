//! The `[policy]` header of a policy document.
//!
//! ```toml
//! [policy]
//! org = "acme"                         # signed bundles: must equal the trust root's org
//! channel = "cloud"                    # signed bundles: cloud | mdm | system
//! id = "acme-baseline"                 # letters, digits, `.`, `_`, `-`
//! version = 7                          # strictly increasing per channel and id
//! issued_at = 2026-05-01T00:00:00Z     # signed bundles
//! expires = 2026-12-01T00:00:00Z
//! description = "Security baseline for all engineering laptops"
//! contact = "security@acme.example"
//! ```
//!
//! `id` and `version` are required whenever there is a `[policy]` table;
//! `org`, `channel`, `issued_at` and `expires` are optional in unsigned local
//! files and required in signed bundles ([`PolicyHeader::require_signed_fields`]);
//! `description` and `contact` are optional everywhere and shown by `sources`.
//! Unknown keys are errors. Only verified bytes are ever parsed for a bundle.
//!
//! This is the one reader of the header: signed bundles, unsigned policy
//! files ([`crate::Layer::parse_policy`]) and the signing tools all use it,
//! so a header one accepts the others accept.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use toml::de::DeTable;

use super::fields::{self, Table, TomlProblem};
use crate::source::ManagedSource;

/// The delivery channel a bundle was signed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    /// Fetched from the cloud by `mandate sync`.
    Cloud,
    /// Delivered in an MDM profile (machine or user scope).
    Mdm,
    /// Installed as a file in `policy.d/`.
    System,
}

impl Channel {
    /// The name used in headers (`cloud`, `mdm`, `system`).
    pub fn name(self) -> &'static str {
        match self {
            Channel::Cloud => "cloud",
            Channel::Mdm => "mdm",
            Channel::System => "system",
        }
    }

    /// Parses a channel name.
    pub fn from_name(name: &str) -> Option<Channel> {
        [Channel::Cloud, Channel::Mdm, Channel::System]
            .into_iter()
            .find(|c| c.name() == name)
    }

    /// The channel a bundle found in `source` must have been signed for:
    /// both MDM scopes use `mdm`.
    pub fn for_source(source: ManagedSource) -> Channel {
        match source {
            ManagedSource::Mdm | ManagedSource::MdmUser => Channel::Mdm,
            ManagedSource::Cloud => Channel::Cloud,
            ManagedSource::System => Channel::System,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `[policy]` table of a policy document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyHeader {
    /// The organisation the policy belongs to.
    pub org: Option<String>,
    /// The channel the policy was issued for.
    pub channel: Option<Channel>,
    /// The policy id; rollback protection is per channel and id.
    pub id: String,
    /// The version, strictly increasing per channel and id.
    pub version: u64,
    /// When it was issued.
    pub issued_at: Option<OffsetDateTime>,
    /// When it stops being fresh.
    pub expires: Option<OffsetDateTime>,
    /// What the policy is for, for people (may span lines).
    pub description: Option<String>,
    /// Whom to ask about it (a team, an address), one line.
    pub contact: Option<String>,
    /// 1-based line of the `[policy]` table.
    pub line: usize,
}

/// A header with every field a signed bundle must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeader {
    /// The organisation; must equal the trust root's.
    pub org: String,
    /// The channel; must match the source the bundle was found in.
    pub channel: Channel,
    /// The policy id.
    pub id: String,
    /// The version.
    pub version: u64,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
    /// When it stops being fresh.
    pub expires: OffsetDateTime,
}

/// A `[policy]` header that is malformed or incomplete.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The document is not UTF-8 TOML (duplicate keys included).
    #[error("policy is not valid TOML: {0}")]
    Syntax(TomlProblem),
    /// A `[policy]` field is unknown, of the wrong type or out of range.
    #[error("invalid policy header: {0}")]
    Field(TomlProblem),
    /// A signed bundle's payload has no `[policy]` table.
    #[error(
        "signed policy has no [policy] table; add one with org, channel, id, version, issued_at and expires, then sign again"
    )]
    Missing,
    /// A signed bundle's header lacks a field signed bundles need.
    #[error("line {line}: signed policy header lacks `{field}`; add it to [policy] and sign again")]
    Incomplete {
        /// The missing field.
        field: &'static str,
        /// 1-based line of the `[policy]` table.
        line: usize,
    },
}

impl HeaderError {
    /// A stable, machine-readable reason code (see `docs/trust.md`).
    pub fn code(&self) -> &'static str {
        match self {
            HeaderError::Syntax(_) => "policy-syntax",
            HeaderError::Field(_) => "header-invalid",
            HeaderError::Missing | HeaderError::Incomplete { .. } => "header-missing",
        }
    }
}

/// Every `[policy]` field, in the order the docs list them.
pub const FIELDS: &[&str] = &[
    "org",
    "channel",
    "id",
    "version",
    "issued_at",
    "expires",
    "description",
    "contact",
];

/// The longest `description`, in characters.
pub const MAX_DESCRIPTION: usize = 1024;

/// The longest `contact`, in characters.
pub const MAX_CONTACT: usize = 256;

impl PolicyHeader {
    /// Parses the `[policy]` table of a policy document; `None` when there is
    /// none. The whole document must be valid TOML.
    ///
    /// ```
    /// use mandate::trust::header::PolicyHeader;
    /// let header = PolicyHeader::parse(b"[policy]\nid = \"base\"\nversion = 3\n")?.unwrap();
    /// assert_eq!((header.id.as_str(), header.version), ("base", 3));
    /// assert!(PolicyHeader::parse(b"[settings]\n")?.is_none());
    /// # Ok::<(), mandate::trust::header::HeaderError>(())
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Option<PolicyHeader>, HeaderError> {
        let text = fields::utf8(bytes).map_err(HeaderError::Syntax)?;
        let doc = fields::parse(text).map_err(HeaderError::Syntax)?;
        PolicyHeader::of_document(text, &doc)
    }

    /// The `[policy]` table of a document already parsed from `text`
    /// (`root` is its root table); `None` when there is none.
    pub(crate) fn of_document(
        text: &str,
        root: &DeTable<'_>,
    ) -> Result<Option<PolicyHeader>, HeaderError> {
        let Some(table) = Table::root(text, root)
            .opt_table("policy")
            .map_err(HeaderError::Field)?
        else {
            return Ok(None);
        };
        PolicyHeader::from_table(text, root, &table)
            .map(Some)
            .map_err(HeaderError::Field)
    }

    fn from_table(
        text: &str,
        root: &DeTable<'_>,
        table: &Table<'_>,
    ) -> Result<PolicyHeader, TomlProblem> {
        table.deny_unknown(FIELDS)?;
        // Text for people, shown to developers (checked, not kept here).
        table.opt_str("description")?;
        table.opt_str("contact")?;
        let org = match table.opt_str("org")? {
            Some(org) if !valid_org(org.value) => {
                return Err(table.problem(
                    org.span,
                    "org",
                    "must be 1 to 128 printable characters",
                ));
            }
            other => other.map(|o| o.value.to_owned()),
        };
        let channel = match table.opt_str("channel")? {
            Some(c) => Some(Channel::from_name(c.value).ok_or_else(|| {
                table.problem(
                    c.span,
                    "channel",
                    format!("`{}` is not a channel (cloud, mdm or system)", c.value),
                )
            })?),
            None => None,
        };
        let id = table.str("id")?;
        if !valid_id(id.value) {
            return Err(table.problem(
                id.span,
                "id",
                "must be 1 to 128 letters, digits, `.`, `_` or `-`, starting with a letter or digit",
            ));
        }
        let version = table.u64("version")?.value;
        let issued_at = table.opt_datetime("issued_at")?;
        let expires = table.opt_datetime("expires")?;
        if let (Some(issued), Some(expiry)) = (&issued_at, &expires)
            && expiry.value <= issued.value
        {
            return Err(table.problem(
                expiry.span.clone(),
                "expires",
                "must be later than issued_at",
            ));
        }
        let description = match table.opt_str("description")? {
            Some(d) if !valid_text(d.value, MAX_DESCRIPTION, true) => {
                return Err(table.problem(
                    d.span,
                    "description",
                    format!("must be at most {MAX_DESCRIPTION} characters, without control characters other than newlines and tabs"),
                ));
            }
            other => other.map(|d| d.value.to_owned()),
        };
        let contact = match table.opt_str("contact")? {
            Some(c) if !valid_text(c.value, MAX_CONTACT, false) => {
                return Err(table.problem(
                    c.span,
                    "contact",
                    format!("must be one line of at most {MAX_CONTACT} characters, without control characters"),
                ));
            }
            other => other.map(|c| c.value.to_owned()),
        };
        let line = root
            .get("policy")
            .map_or(1, |item| fields::line_of(text, item.span().start));
        Ok(PolicyHeader {
            org,
            channel,
            id: id.value.to_owned(),
            version,
            issued_at: issued_at.map(|d| d.value),
            expires: expires.map(|d| d.value),
            description,
            contact,
            line,
        })
    }

    /// The header as a signed bundle must have it: `org`, `channel`,
    /// `issued_at` and `expires` present.
    pub fn require_signed_fields(&self) -> Result<SignedHeader, HeaderError> {
        let incomplete = |field| HeaderError::Incomplete {
            field,
            line: self.line,
        };
        Ok(SignedHeader {
            org: self.org.clone().ok_or_else(|| incomplete("org"))?,
            channel: self.channel.ok_or_else(|| incomplete("channel"))?,
            id: self.id.clone(),
            version: self.version,
            issued_at: self.issued_at.ok_or_else(|| incomplete("issued_at"))?,
            expires: self.expires.ok_or_else(|| incomplete("expires"))?,
        })
    }
}

/// Whether `id` is a valid policy or bundle id.
pub(crate) fn valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Whether `text` is non-empty, at most `max` characters and free of control
/// characters (newlines and tabs allowed when `multiline`).
fn valid_text(text: &str, max: usize, multiline: bool) -> bool {
    (1..=max).contains(&text.chars().count())
        && !text
            .chars()
            .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\t')))
}

/// Whether `org` is a valid organisation name.
pub(crate) fn valid_org(org: &str) -> bool {
    (1..=128).contains(&org.chars().count()) && !org.chars().any(char::is_control)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const FULL: &str = r#"# baseline
[policy]
org = "acme"
channel = "cloud"
id = "acme-baseline"
version = 7
issued_at = 2026-05-01T00:00:00Z
expires = 2026-12-01T02:00:00+02:00
description = """
Security baseline for every engineering laptop."""
contact = "security@acme.example"

[settings]
"sandbox.mode" = "read-only"
"#;

    /// `description` and `contact` are text for people: accepted in a
    /// signed header, and refused when they are not strings.
    #[test]
    fn description_and_contact_are_accepted() {
        let text = "[policy]\nid = \"b\"\nversion = 1\ndescription = \"Security baseline\"\ncontact = \"#platform-security\"\n";
        assert!(PolicyHeader::parse(text.as_bytes()).unwrap().is_some());
        let bad = "[policy]\nid = \"b\"\nversion = 1\ncontact = 3\n";
        let err = PolicyHeader::parse(bad.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("contact"), "{err}");
    }

    #[test]
    fn parses_a_full_header() {
        let header = PolicyHeader::parse(FULL.as_bytes()).unwrap().unwrap();
        assert_eq!(header.line, 2);
        assert_eq!(
            header.description.as_deref(),
            Some("Security baseline for every engineering laptop.")
        );
        assert_eq!(header.contact.as_deref(), Some("security@acme.example"));
        let signed = header.require_signed_fields().unwrap();
        assert_eq!(
            signed,
            SignedHeader {
                org: "acme".into(),
                channel: Channel::Cloud,
                id: "acme-baseline".into(),
                version: 7,
                issued_at: datetime!(2026-05-01 00:00 UTC),
                expires: datetime!(2026-12-01 00:00 UTC),
            }
        );
    }

    #[test]
    fn local_files_need_only_id_and_version() {
        let header = PolicyHeader::parse(
            b"[policy]\nid = \"local\"\nversion = 1\nexpires = 2027-01-01T00:00:00Z\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(header.org, None);
        let err = header.require_signed_fields().unwrap_err();
        assert_eq!(
            err,
            HeaderError::Incomplete {
                field: "org",
                line: 1
            }
        );
        assert_eq!(err.code(), "header-missing");
        // Dotted keys and inline tables are the same table.
        let dotted = PolicyHeader::parse(b"policy.id = \"a\"\npolicy.version = 2\n")
            .unwrap()
            .unwrap();
        assert_eq!(dotted.version, 2);
        let inline = PolicyHeader::parse(b"policy = { id = \"a\", version = 2 }\n")
            .unwrap()
            .unwrap();
        assert_eq!(inline.id, "a");
    }

    #[test]
    fn no_policy_table_is_none() {
        assert_eq!(PolicyHeader::parse(b"").unwrap(), None);
        assert_eq!(PolicyHeader::parse(b"[settings]\nx = 1\n").unwrap(), None);
    }

    #[test]
    fn duplicate_toml_keys_are_refused() {
        let text = "[policy]\nid = \"a\"\nversion = 7\nversion = 8\n";
        let err = PolicyHeader::parse(text.as_bytes()).unwrap_err();
        let HeaderError::Syntax(problem) = &err else {
            panic!("{err}")
        };
        assert_eq!(problem.line, 4);
        assert!(problem.message.contains("duplicate"), "{err}");
        assert_eq!(err.code(), "policy-syntax");
        // A second [policy] table is a duplicate too.
        let twice = "[policy]\nid = \"a\"\nversion = 7\n[policy]\nversion = 8\n";
        assert_eq!(
            PolicyHeader::parse(twice.as_bytes()).unwrap_err().code(),
            "policy-syntax"
        );
    }

    #[test]
    fn errors_name_line_and_column() {
        let cases: &[(&str, usize, usize, &str)] = &[
            (
                "[policy]\nid = \"a\"\nversion = -1\n",
                3,
                11,
                "policy.version",
            ),
            ("[policy]\nid = \"a b\"\nversion = 1\n", 2, 6, "policy.id"),
            (
                "[policy]\nid = \"a\"\nversion = 1\nchannel = \"web\"\n",
                4,
                11,
                "policy.channel",
            ),
            (
                "[policy]\nid = \"a\"\nversion = 1\nexpires = 2027-01-01\n",
                4,
                11,
                "policy.expires",
            ),
            (
                "[policy]\nid = \"a\"\nversion = 1\nexpire = 2027-01-01T00:00:00Z\n",
                4,
                1,
                "policy.expire",
            ),
            ("[policy]\nversion = 1\n", 1, 1, "policy.id"),
            (
                "[policy]\nid = \"a\"\nversion = 1\nissued_at = 2027-01-01T00:00:00Z\nexpires = 2026-01-01T00:00:00Z\n",
                5,
                11,
                "policy.expires",
            ),
            ("policy = 3\n", 1, 10, "policy"),
            (
                "[policy]\nid = \"a\"\nversion = 1\ncontact = \"a\\nb\"\n",
                4,
                11,
                "policy.contact",
            ),
            (
                "[policy]\nid = \"a\"\nversion = 1\ndescription = \"bell\\u0007\"\n",
                4,
                15,
                "policy.description",
            ),
            (
                "[policy]\nid = \"a\"\nversion = 1\ndescription = 3\n",
                4,
                15,
                "policy.description",
            ),
            // Columns count characters: the `é`s before the error are one column each.
            (
                "[policy]\nid = \"a\"\nversion = 1\n\"été\" = 1\n",
                4,
                1,
                "policy.été",
            ),
            ("[policy]\nid = \"été\"\nversion = 1\n", 2, 6, "policy.id"),
            (
                "[policy] # déjà vu\nid = \"a\"\nversion = 1\ncontact = \"ü\" \ndescription = 1\n",
                5,
                15,
                "policy.description",
            ),
        ];
        for (text, line, column, key) in cases {
            let err = PolicyHeader::parse(text.as_bytes()).unwrap_err();
            let HeaderError::Field(problem) = &err else {
                panic!("{text}: {err}")
            };
            assert_eq!(
                (problem.line, problem.column, problem.key.as_str()),
                (*line, *column, *key),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn channels_follow_sources() {
        assert_eq!(Channel::for_source(ManagedSource::MdmUser), Channel::Mdm);
        assert_eq!(Channel::for_source(ManagedSource::Cloud), Channel::Cloud);
        assert_eq!(Channel::for_source(ManagedSource::System), Channel::System);
        assert_eq!(Channel::from_name("mdm"), Some(Channel::Mdm));
    }
}
