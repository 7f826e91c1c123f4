//! Configuration profiles (`.mobileconfig`): parsing, previewing what macOS
//! writes when one is installed, and building one for a domain.
//!
//! A profile is a plist whose `PayloadContent` lists payloads. Two kinds of
//! payload set preferences of an application domain:
//!
//! * **ManagedClient**: `PayloadType` `com.apple.ManagedClient.preferences`,
//!   with `PayloadContent > <domain> > Forced > [ { mcx_preference_settings: {…} } ]`
//!   (and `Set-Once` / `Often` for defaults the user may change);
//! * **custom settings**: `PayloadType` is the domain itself and the
//!   preference keys sit beside the `Payload…` keys (what Jamf Pro, Intune
//!   and Kandji produce for "custom settings" and custom schemas).
//!
//! Either way macOS writes the forced keys of each domain to
//! `/Library/Managed Preferences/<domain>.plist` (System scope) or
//! `/Library/Managed Preferences/<user>/<domain>.plist` (User scope);
//! [`install_preview`] writes the same files under a directory of your choice.
//! Every other payload type (Wi-Fi, certificates, privacy preferences …) is
//! an [`PayloadKind::Apple`] payload handled by its own part of macOS.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use plist::{Dictionary, Value};
use sha2::{Digest, Sha256};

use super::parse::{
    ParsedPlist, PlistEncoding, PlistError, describe, from_json, looks_like_der, parse_plist,
};
use super::{POLICY_KEY, REQUIREMENTS_KEY, SETTINGS_KEY, TRUST_ROOT_CHAIN_KEY, TRUST_ROOT_KEY};
use crate::document::TomlTree;
use crate::error::Problem;

/// The `PayloadType` of MCX managed preferences payloads.
pub const MANAGED_CLIENT_TYPE: &str = "com.apple.ManagedClient.preferences";

/// Apple payload types that configure something other than an application's
/// preferences domain (networks, certificates, privacy, extensions …); they
/// are reported as [`PayloadKind::Apple`] and never previewed as domains.
pub const APPLE_PAYLOAD_TYPES: &[&str] = &[
    "com.apple.TCC.configuration-profile-policy",
    "com.apple.airprint",
    "com.apple.associated-domains",
    "com.apple.caldav.account",
    "com.apple.carddav.account",
    "com.apple.dnsProxy.managed",
    "com.apple.dnsSettings.managed",
    "com.apple.eap-over-lan.managed",
    "com.apple.extensiblesso",
    "com.apple.firstactiveethernet.managed",
    "com.apple.font",
    "com.apple.ldap.account",
    "com.apple.mail.managed",
    "com.apple.mdm",
    "com.apple.notificationsettings",
    "com.apple.proxy.http.global",
    "com.apple.relay.managed",
    "com.apple.security.acme",
    "com.apple.security.certificatepreference",
    "com.apple.security.pem",
    "com.apple.security.pkcs1",
    "com.apple.security.pkcs12",
    "com.apple.security.root",
    "com.apple.security.scep",
    "com.apple.servicemanagement",
    "com.apple.syspolicy.kernel-extension-policy",
    "com.apple.system-extension-policy",
    "com.apple.vpn.managed",
    "com.apple.vpn.managed.applayer",
    "com.apple.webcontent-filter",
    "com.apple.wifi.managed",
];

/// Where a profile installs: for the whole machine or for one user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `PayloadScope` `System`: `/Library/Managed Preferences/<domain>.plist`.
    System,
    /// `PayloadScope` `User`: `/Library/Managed Preferences/<user>/<domain>.plist`.
    User,
}

impl Scope {
    /// `System` or `User`, as written in `PayloadScope`.
    pub fn name(self) -> &'static str {
        match self {
            Scope::System => "System",
            Scope::User => "User",
        }
    }
}

/// How the profile's bytes were wrapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileEnvelope {
    /// A plain XML or binary plist.
    Plain,
    /// A CMS (PKCS #7) signed message whose content was extracted. The
    /// signature was **not** verified; macOS verifies it when installing.
    CmsSignedUnverified,
}

/// What a payload configures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadKind {
    /// `com.apple.ManagedClient.preferences`: MCX preferences of one or more domains.
    ManagedClient,
    /// Custom settings: `PayloadType` is the preferences domain, keys inline.
    CustomSettings,
    /// An Apple payload handled by its own subsystem ([`APPLE_PAYLOAD_TYPES`]).
    Apple,
}

/// Defaults applied to the user's own preferences rather than forced.
#[derive(Clone, Debug, PartialEq)]
pub struct SetOnce {
    /// `mcx_data_timestamp` (RFC 3339): MCX applies the values once per
    /// timestamp. `None` (no timestamp, or an `Often` entry): at every login.
    pub timestamp: Option<String>,
    /// The values.
    pub settings: Dictionary,
}

/// The preferences one payload sets for one domain.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ManagedPrefs {
    /// Forced values: what macOS writes to `/Library/Managed Preferences`.
    pub forced: Dictionary,
    /// `Set-Once` and `Often` defaults (ManagedClient payloads only).
    pub set_once: Vec<SetOnce>,
}

/// One payload of a profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Payload {
    /// `PayloadType`.
    pub payload_type: String,
    /// `PayloadIdentifier`.
    pub identifier: String,
    /// `PayloadUUID`.
    pub uuid: String,
    /// `PayloadDisplayName`, when present.
    pub display_name: Option<String>,
    /// `PayloadEnabled` (true when absent); macOS skips disabled payloads.
    pub enabled: bool,
    /// What the payload configures.
    pub kind: PayloadKind,
    /// The preferences domains it sets, in the order written (empty for Apple payloads).
    pub domains: Vec<(String, ManagedPrefs)>,
}

/// A parsed configuration profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// `PayloadIdentifier`.
    pub identifier: String,
    /// `PayloadUUID`.
    pub uuid: String,
    /// `PayloadDisplayName`, when present.
    pub display_name: Option<String>,
    /// `PayloadOrganization`, when present.
    pub organization: Option<String>,
    /// `PayloadDescription`, when present.
    pub description: Option<String>,
    /// `PayloadScope`, when present. macOS treats a missing scope as `User`
    /// for profiles installed by hand; an MDM's device channel installs
    /// system-wide whatever it says.
    pub scope: Option<Scope>,
    /// `PayloadRemovalDisallowed`, when present.
    pub removal_disallowed: Option<bool>,
    /// Plain or CMS signed.
    pub envelope: ProfileEnvelope,
    /// XML or binary.
    pub encoding: PlistEncoding,
    /// The payloads, in order.
    pub payloads: Vec<Payload>,
}

impl Profile {
    /// The scope macOS installs a hand-installed profile with: `PayloadScope`, or `User` when absent.
    pub fn effective_scope(&self) -> Scope {
        self.scope.unwrap_or(Scope::User)
    }

    /// Every preferences domain the enabled payloads force keys for, in order, without repeats.
    pub fn domains(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for payload in self.payloads.iter().filter(|p| p.enabled) {
            for (domain, _) in &payload.domains {
                if !out.contains(&domain.as_str()) {
                    out.push(domain);
                }
            }
        }
        out
    }
}

/// Why a profile could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// The bytes are not a readable plist.
    #[error(transparent)]
    Plist(#[from] PlistError),
    /// A CMS signed message whose content could not be extracted.
    #[error(
        "a signed configuration profile (CMS) whose content could not be extracted ({reason}); export the unsigned profile from the MDM, or run `security cms -D -i FILE -o unsigned.mobileconfig` on a Mac"
    )]
    Cms {
        /// What went wrong.
        reason: String,
    },
    /// A plist, but not a configuration profile.
    #[error("not a configuration profile: {0}")]
    NotAProfile(String),
    /// A key of the profile has the wrong type or shape.
    #[error("{path}: {message}")]
    Structure {
        /// The plist key path, such as `PayloadContent > 0 > PayloadType`.
        path: String,
        /// What is wrong.
        message: String,
    },
}

fn structure(path: &[String], message: impl Into<String>) -> ProfileError {
    ProfileError::Structure {
        path: path.join(" > "),
        message: message.into(),
    }
}

fn optional_string(
    dict: &Dictionary,
    key: &str,
    path: &[String],
) -> Result<Option<String>, ProfileError> {
    match dict.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => {
            let mut at = path.to_vec();
            at.push(key.to_owned());
            Err(structure(
                &at,
                format!("must be a <string>, found {}", describe(other)),
            ))
        }
    }
}

fn required_string(dict: &Dictionary, key: &str, path: &[String]) -> Result<String, ProfileError> {
    optional_string(dict, key, path)?.ok_or_else(|| structure(path, format!("`{key}` is missing")))
}

fn optional_bool(
    dict: &Dictionary,
    key: &str,
    path: &[String],
) -> Result<Option<bool>, ProfileError> {
    match dict.get(key) {
        None => Ok(None),
        Some(Value::Boolean(b)) => Ok(Some(*b)),
        Some(other) => {
            let mut at = path.to_vec();
            at.push(key.to_owned());
            Err(structure(
                &at,
                format!("must be <true/> or <false/>, found {}", describe(other)),
            ))
        }
    }
}

/// Parses a configuration profile: an XML or binary plist, possibly with a
/// leading byte order mark or whitespace and trailing NUL bytes, or a CMS
/// signed message wrapping one (the content is extracted; the signature is
/// not verified, see [`ProfileEnvelope::CmsSignedUnverified`]).
///
/// ```
/// use mandate::mdm::{PayloadKind, parse_profile};
///
/// let profile = parse_profile(br#"<?xml version="1.0" encoding="UTF-8"?>
/// <plist version="1.0"><dict>
///   <key>PayloadType</key><string>Configuration</string>
///   <key>PayloadIdentifier</key><string>com.example.outlook</string>
///   <key>PayloadUUID</key><string>E1DBB532-B776-4560-8981-9025ABC7E16F</string>
///   <key>PayloadScope</key><string>System</string>
///   <key>PayloadContent</key><array><dict>
///     <key>PayloadType</key><string>com.microsoft.Outlook</string>
///     <key>PayloadIdentifier</key><string>com.example.outlook.prefs</string>
///     <key>PayloadUUID</key><string>89EBD11D-41F8-4BD0-9979-7CA02DD58BFA</string>
///     <key>LogForTroubleshooting</key><true/>
///   </dict></array>
/// </dict></plist>"#)?;
/// assert_eq!(profile.payloads[0].kind, PayloadKind::CustomSettings);
/// assert_eq!(profile.domains(), ["com.microsoft.Outlook"]);
/// # Ok::<(), mandate::mdm::ProfileError>(())
/// ```
pub fn parse_profile(bytes: &[u8]) -> Result<Profile, ProfileError> {
    let (bytes, envelope) = if looks_like_der(bytes) {
        let content = cms::signed_content(bytes).map_err(|reason| ProfileError::Cms { reason })?;
        (Cow::Owned(content), ProfileEnvelope::CmsSignedUnverified)
    } else {
        (Cow::Borrowed(bytes), ProfileEnvelope::Plain)
    };
    let ParsedPlist { value, encoding } = parse_plist(&bytes).map_err(|e| match e {
        PlistError::SignedProfile => ProfileError::Cms {
            reason: "the signed content is itself a signed message".into(),
        },
        other => ProfileError::Plist(other),
    })?;
    let Value::Dictionary(root) = value else {
        return Err(ProfileError::NotAProfile(format!(
            "the root is {}, not a <dict>",
            describe(&value)
        )));
    };
    let root_path: Vec<String> = Vec::new();
    match optional_string(&root, "PayloadType", &root_path)?.as_deref() {
        Some("Configuration") => {}
        Some(other) => {
            return Err(ProfileError::NotAProfile(format!(
                "PayloadType is \"{other}\", and a profile's is \"Configuration\""
            )));
        }
        None if root.contains_key(SETTINGS_KEY)
            || root.contains_key(POLICY_KEY)
            || root.contains_key(REQUIREMENTS_KEY) =>
        {
            return Err(ProfileError::NotAProfile(
                "no PayloadType: this looks like a managed preferences plist; read it with `mandate sources` instead".into(),
            ));
        }
        None => return Err(ProfileError::NotAProfile("it has no PayloadType".into())),
    }
    let scope = match optional_string(&root, "PayloadScope", &root_path)?.as_deref() {
        None => None,
        Some("System") => Some(Scope::System),
        Some("User") => Some(Scope::User),
        Some(other) => {
            return Err(structure(
                &["PayloadScope".to_owned()],
                format!("\"{other}\" is neither System nor User"),
            ));
        }
    };
    let mut payloads = Vec::new();
    match root.get("PayloadContent") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = vec!["PayloadContent".to_owned(), i.to_string()];
                let Value::Dictionary(dict) = item else {
                    return Err(structure(
                        &path,
                        format!("a payload must be a <dict>, found {}", describe(item)),
                    ));
                };
                payloads.push(payload(dict, path)?);
            }
        }
        Some(other) => {
            return Err(structure(
                &["PayloadContent".to_owned()],
                format!("must be an <array> of payloads, found {}", describe(other)),
            ));
        }
    }
    Ok(Profile {
        identifier: required_string(&root, "PayloadIdentifier", &root_path)?,
        uuid: required_string(&root, "PayloadUUID", &root_path)?,
        display_name: optional_string(&root, "PayloadDisplayName", &root_path)?,
        organization: optional_string(&root, "PayloadOrganization", &root_path)?,
        description: optional_string(&root, "PayloadDescription", &root_path)?,
        scope,
        removal_disallowed: optional_bool(&root, "PayloadRemovalDisallowed", &root_path)?,
        envelope,
        encoding,
        payloads,
    })
}

fn payload(dict: &Dictionary, path: Vec<String>) -> Result<Payload, ProfileError> {
    let payload_type = required_string(dict, "PayloadType", &path)?;
    let kind = if payload_type == MANAGED_CLIENT_TYPE {
        PayloadKind::ManagedClient
    } else if APPLE_PAYLOAD_TYPES.contains(&payload_type.as_str()) {
        PayloadKind::Apple
    } else {
        PayloadKind::CustomSettings
    };
    let domains = match kind {
        PayloadKind::Apple => Vec::new(),
        PayloadKind::CustomSettings => {
            let mut forced = Dictionary::new();
            for (key, value) in dict {
                if !key.starts_with("Payload") {
                    forced.insert(key.clone(), value.clone());
                }
            }
            vec![(
                payload_type.clone(),
                ManagedPrefs {
                    forced,
                    set_once: Vec::new(),
                },
            )]
        }
        PayloadKind::ManagedClient => managed_client(dict, &path)?,
    };
    Ok(Payload {
        identifier: required_string(dict, "PayloadIdentifier", &path)?,
        uuid: required_string(dict, "PayloadUUID", &path)?,
        display_name: optional_string(dict, "PayloadDisplayName", &path)?,
        enabled: optional_bool(dict, "PayloadEnabled", &path)?.unwrap_or(true),
        payload_type,
        kind,
        domains,
    })
}

fn managed_client(
    dict: &Dictionary,
    path: &[String],
) -> Result<Vec<(String, ManagedPrefs)>, ProfileError> {
    let mut path = path.to_vec();
    path.push("PayloadContent".into());
    let content = match dict.get("PayloadContent") {
        None => return Ok(Vec::new()),
        Some(Value::Dictionary(content)) => content,
        Some(other) => {
            return Err(structure(
                &path,
                format!(
                    "must be a <dict> of preference domains, found {}",
                    describe(other)
                ),
            ));
        }
    };
    let mut domains = Vec::new();
    for (domain, value) in content {
        path.push(domain.clone());
        let Value::Dictionary(levels) = value else {
            return Err(structure(
                &path,
                format!(
                    "must be a <dict> with Forced or Set-Once, found {}",
                    describe(value)
                ),
            ));
        };
        let mut prefs = ManagedPrefs::default();
        for (level, entries) in levels {
            if !matches!(level.as_str(), "Forced" | "Set-Once" | "Often") {
                continue; // mcx_targets and other MCX metadata
            }
            path.push(level.clone());
            let Value::Array(entries) = entries else {
                return Err(structure(
                    &path,
                    format!("must be an <array>, found {}", describe(entries)),
                ));
            };
            for (i, entry) in entries.iter().enumerate() {
                path.push(i.to_string());
                let Value::Dictionary(entry) = entry else {
                    return Err(structure(
                        &path,
                        format!("must be a <dict>, found {}", describe(entry)),
                    ));
                };
                let settings = match entry.get("mcx_preference_settings") {
                    None => Dictionary::new(),
                    Some(Value::Dictionary(settings)) => settings.clone(),
                    Some(other) => {
                        path.push("mcx_preference_settings".into());
                        return Err(structure(
                            &path,
                            format!("must be a <dict>, found {}", describe(other)),
                        ));
                    }
                };
                if level == "Forced" {
                    for (key, value) in settings {
                        prefs.forced.insert(key, value);
                    }
                } else {
                    let timestamp = match (level.as_str(), entry.get("mcx_data_timestamp")) {
                        ("Set-Once", Some(Value::Date(date))) => Some(date.to_xml_format()),
                        ("Set-Once", Some(other)) => {
                            path.push("mcx_data_timestamp".into());
                            return Err(structure(
                                &path,
                                format!("must be a <date>, found {}", describe(other)),
                            ));
                        }
                        _ => None,
                    };
                    prefs.set_once.push(SetOnce {
                        timestamp,
                        settings,
                    });
                }
                path.pop();
            }
            path.pop();
        }
        domains.push((domain.clone(), prefs));
        path.pop();
    }
    Ok(domains)
}

/// A minimal BER reader, enough to take the content out of a CMS SignedData
/// message (RFC 5652): `ContentInfo { signedData, [0] SignedData { version,
/// digestAlgorithms, EncapsulatedContentInfo { data, [0] OCTET STRING } … } }`.
mod cms {
    /// `1.2.840.113549.1.7.2`, id-signedData.
    const SIGNED_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
    /// How deep indefinite-length elements may nest.
    const MAX_NESTING: u32 = 16;

    struct Tlv<'a> {
        tag: u8,
        body: &'a [u8],
    }

    /// Reads one element; returns it and the bytes after it.
    fn next(data: &[u8], depth: u32) -> Result<(Tlv<'_>, &[u8]), String> {
        let truncated = || "the signed message is truncated".to_owned();
        let (&tag, rest) = data.split_first().ok_or_else(truncated)?;
        if tag & 0x1F == 0x1F {
            return Err("unsupported ASN.1 tag".into());
        }
        let (&first, mut rest) = rest.split_first().ok_or_else(truncated)?;
        let len = match first {
            0x00..=0x7F => usize::from(first),
            0x80 => {
                // Indefinite length: constructed elements up to an end-of-contents marker.
                if tag & 0x20 == 0 || depth >= MAX_NESTING {
                    return Err("malformed indefinite-length element".into());
                }
                let mut cursor = rest;
                loop {
                    if let [0, 0, after @ ..] = cursor {
                        let body = &rest[..rest.len() - cursor.len()];
                        return Ok((Tlv { tag, body }, after));
                    }
                    cursor = next(cursor, depth + 1)?.1;
                }
            }
            0x81..=0x84 => {
                let n = usize::from(first & 0x7F);
                if rest.len() < n {
                    return Err(truncated());
                }
                let len = rest[..n]
                    .iter()
                    .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
                rest = &rest[n..];
                len
            }
            _ => return Err("unsupported ASN.1 length".into()),
        };
        if rest.len() < len {
            return Err(truncated());
        }
        Ok((
            Tlv {
                tag,
                body: &rest[..len],
            },
            &rest[len..],
        ))
    }

    fn children(body: &[u8], depth: u32) -> Result<Vec<Tlv<'_>>, String> {
        let mut out = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let (tlv, after) = next(rest, depth)?;
            out.push(tlv);
            rest = after;
        }
        Ok(out)
    }

    fn expect<'a>(
        items: &'a [Tlv<'a>],
        index: usize,
        tag: u8,
        what: &str,
    ) -> Result<&'a Tlv<'a>, String> {
        match items.get(index) {
            Some(tlv) if tlv.tag == tag => Ok(tlv),
            _ => Err(format!("{what} is missing")),
        }
    }

    /// Appends the octets of an OCTET STRING, primitive or constructed (BER chunks).
    fn octets(tlv: &Tlv<'_>, depth: u32, out: &mut Vec<u8>) -> Result<(), String> {
        match tlv.tag {
            0x04 => {
                out.extend_from_slice(tlv.body);
                Ok(())
            }
            0x24 if depth < MAX_NESTING => {
                for chunk in children(tlv.body, depth + 1)? {
                    octets(&chunk, depth + 1, out)?;
                }
                Ok(())
            }
            _ => Err("the signed content is not an OCTET STRING".into()),
        }
    }

    /// The encapsulated content of a CMS SignedData message.
    pub(super) fn signed_content(bytes: &[u8]) -> Result<Vec<u8>, String> {
        let (info, _) = next(bytes, 0)?;
        if info.tag != 0x30 {
            return Err("not a CMS ContentInfo".into());
        }
        let info = children(info.body, 0)?;
        let oid = expect(&info, 0, 0x06, "the content type")?;
        if oid.body != SIGNED_DATA {
            return Err("a CMS message, but not SignedData".into());
        }
        let explicit = expect(&info, 1, 0xA0, "the SignedData")?;
        let signed = children(explicit.body, 0)?;
        let signed = expect(&signed, 0, 0x30, "the SignedData")?;
        let fields = children(signed.body, 0)?;
        let encapsulated = expect(&fields, 2, 0x30, "the encapsulated content")?;
        let encapsulated = children(encapsulated.body, 0)?;
        let content = expect(
            &encapsulated,
            1,
            0xA0,
            "the signed content (a detached signature?)",
        )?;
        let mut out = Vec::new();
        for part in children(content.body, 0)? {
            octets(&part, 0, &mut out)?;
        }
        Ok(out)
    }
}

/// The plist encoding of files written by [`install_preview_as`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlistFormat {
    /// Binary (`bplist00`), what macOS writes.
    Binary,
    /// XML, for reading by eye.
    Xml,
}

/// Why the preview could not be written.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A domain or user name that cannot be a file name.
    #[error(
        "{what} {name:?} cannot name a file in Managed Preferences (empty, `.`, `..`, or containing `/` or control characters)"
    )]
    BadName {
        /// `domain` or `user`.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A User-scope profile and no user.
    #[error(
        "this profile installs for a user (PayloadScope User, or no PayloadScope): name the user whose managed preferences to write"
    )]
    UserRequired,
    /// A directory on the way is a symbolic link or not a directory.
    #[error("{path}: {message}")]
    Unsafe {
        /// The path.
        path: PathBuf,
        /// What is wrong with it.
        message: &'static str,
    },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The plist could not be encoded.
    #[error("{path}: could not encode the plist: {message}")]
    Encode {
        /// The path.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

fn check_name(what: &'static str, name: &str) -> Result<(), InstallError> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > 255
        || name.chars().any(|c| c == '/' || c.is_control());
    if bad {
        Err(InstallError::BadName {
            what,
            name: name.to_owned(),
        })
    } else {
        Ok(())
    }
}

/// Writes what macOS would write when installing `profile`: for each domain
/// the enabled payloads force keys for, `<root>/Library/Managed Preferences/<domain>.plist`
/// (System scope) or `<root>/Library/Managed Preferences/<user>/<domain>.plist`
/// (User scope), as a binary plist. See [`install_preview_as`].
pub fn install_preview(
    profile: &Profile,
    root: &Path,
    user: Option<&str>,
) -> Result<Vec<PathBuf>, InstallError> {
    install_preview_as(profile, root, user, PlistFormat::Binary)
}

/// [`install_preview`] with a choice of plist encoding.
///
/// Keys forced for the same domain by several payloads are merged in
/// payload order (a later payload wins); `Set-Once` and `Often` defaults
/// are not written (macOS applies them to the user's own preferences).
/// Files are written atomically with mode 0644; missing directories are
/// created with mode 0755. `root` must exist; no symbolic link is followed
/// below it. Returns the files written, sorted by domain.
pub fn install_preview_as(
    profile: &Profile,
    root: &Path,
    user: Option<&str>,
    format: PlistFormat,
) -> Result<Vec<PathBuf>, InstallError> {
    let mut parts = vec!["Library", "Managed Preferences"];
    if profile.effective_scope() == Scope::User {
        let user = user.ok_or(InstallError::UserRequired)?;
        check_name("user", user)?;
        parts.push(user);
    }
    let mut domains: BTreeMap<&str, Dictionary> = BTreeMap::new();
    for payload in profile.payloads.iter().filter(|p| p.enabled) {
        for (domain, prefs) in &payload.domains {
            check_name("domain", domain)?;
            let merged = domains.entry(domain).or_default();
            for (key, value) in &prefs.forced {
                merged.insert(key.clone(), value.clone());
            }
        }
    }
    domains.retain(|_, dict| !dict.is_empty());
    if domains.is_empty() {
        return Ok(Vec::new());
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InstallError::Io { path, source }
    };
    fs::metadata(root).map_err(io(root))?;
    let mut dir = root.to_path_buf();
    for part in parts {
        dir.push(part);
        match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(InstallError::Unsafe {
                    path: dir,
                    message: "is a symbolic link; refusing to write through it",
                });
            }
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(InstallError::Unsafe {
                    path: dir,
                    message: "is not a directory",
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&dir).map_err(io(&dir))?;
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).map_err(io(&dir))?;
            }
            Err(e) => {
                return Err(InstallError::Io {
                    path: dir,
                    source: e,
                });
            }
        }
    }
    let mut written = Vec::new();
    for (domain, dict) in domains {
        let path = dir.join(format!("{domain}.plist"));
        let value = Value::Dictionary(dict);
        let mut bytes = Vec::new();
        let encoded = match format {
            PlistFormat::Binary => value.to_writer_binary(&mut bytes),
            PlistFormat::Xml => value.to_writer_xml(&mut bytes),
        };
        encoded.map_err(|e| InstallError::Encode {
            path: path.clone(),
            message: e.to_string(),
        })?;
        crate::atomic::write_atomic(&path, &bytes, 0o644).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// What a built profile carries for the domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyInput {
    /// A signed bundle (the JSON envelope `mandate sign` writes), put under
    /// `Policy` as `<data>`. Signing is what makes it trusted on the Mac.
    Bundle(Vec<u8>),
    /// A policy document (TOML), put under `Policy` as a `<string>`.
    Document(String),
    /// A policy document converted to native `Settings` and `Requirements`
    /// dictionaries, as a Jamf Pro form built from
    /// [`jamf_schema`](super::jamf_schema) would write them. The `[policy]`
    /// header (id, version, expiry) has no native form and is left out.
    NativeFrom(String),
}

/// How the profile carries the domain's preferences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileForm {
    /// A `com.apple.ManagedClient.preferences` payload forcing the keys
    /// (`Forced > mcx_preference_settings`); what "Custom Settings" uploads
    /// to Jamf Pro, Intune and Kandji accept as a whole profile.
    ManagedClient,
    /// A payload whose `PayloadType` is the domain, keys inline.
    CustomSettings,
}

/// How to build a profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileOptions {
    /// The profile's `PayloadIdentifier`, reverse-DNS (`com.example.mandate`);
    /// installing a profile with the same identifier replaces the old one.
    pub identifier: String,
    /// `PayloadOrganization`.
    pub organization: String,
    /// `PayloadDisplayName`.
    pub display_name: String,
    /// `PayloadDescription`; a description of what the profile carries when `None`.
    pub description: Option<String>,
    /// `PayloadScope`.
    pub scope: Scope,
    /// `PayloadRemovalDisallowed`: whether users are prevented from removing the profile.
    pub removal_disallowed: bool,
    /// ManagedClient or custom settings payload.
    pub form: ProfileForm,
    /// The preferences domain (`dev.mandate`).
    pub domain: String,
    /// The bytes of a `trust.toml` to install under `TrustRoot`, if any.
    pub trust_root: Option<Vec<u8>>,
    /// Earlier trust root versions, oldest first, installed under
    /// `TrustRootChain` so that Macs that missed rotations catch up.
    pub trust_root_chain: Vec<Vec<u8>>,
}

impl ProfileOptions {
    /// Options with the defaults: display name "mandate agent policy",
    /// System scope, removal disallowed, ManagedClient form, domain `dev.mandate`.
    pub fn new(identifier: impl Into<String>, organization: impl Into<String>) -> ProfileOptions {
        ProfileOptions {
            identifier: identifier.into(),
            organization: organization.into(),
            display_name: "mandate agent policy".into(),
            description: None,
            scope: Scope::System,
            removal_disallowed: true,
            form: ProfileForm::ManagedClient,
            domain: crate::paths::DEFAULT_DOMAIN.into(),
            trust_root: None,
            trust_root_chain: Vec::new(),
        }
    }
}

/// Why a profile could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// An option is unusable.
    #[error("{field}: {message}")]
    Option {
        /// The option.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The bundle bytes are not a bundle envelope.
    #[error("not a signed bundle: {0}; sign the policy with `mandate sign` first")]
    NotABundle(String),
    /// The policy document is not valid TOML.
    #[error("{0}")]
    Document(Problem),
    /// The document cannot be converted to native dictionaries.
    #[error("{0}")]
    Native(String),
    /// The trust root is not UTF-8 TOML.
    #[error("the trust root is not a trust.toml: {0}")]
    TrustRoot(String),
    /// The plist writer failed.
    #[error("could not write the profile: {0}")]
    Encode(String),
}

/// A UUID derived from sha256(identifier ‖ content ‖ role), formatted as an
/// RFC 4122 version 5 style UUID in upper case: the same inputs always give
/// the same UUID, so rebuilding a profile yields the same bytes.
///
/// ```
/// let a = mandate::mdm::deterministic_uuid("com.example.mandate", b"policy", "profile");
/// assert_eq!(a, mandate::mdm::deterministic_uuid("com.example.mandate", b"policy", "profile"));
/// assert_ne!(a, mandate::mdm::deterministic_uuid("com.example.mandate", b"policy", "payload"));
/// assert_eq!(a.len(), 36);
/// assert_eq!(&a[14..15], "5");
/// ```
pub fn deterministic_uuid(identifier: &str, content: &[u8], role: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"mandate-profile-uuid-v1\0");
    for part in [identifier.as_bytes(), content, role.as_bytes()] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0F) | 0x50;
    b[8] = (b[8] & 0x3F) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

const LABEL: &str = "policy document";

/// The preference keys the profile forces for the domain.
fn preferences(input: &PolicyInput, opts: &ProfileOptions) -> Result<Dictionary, BuildError> {
    let mut prefs = Dictionary::new();
    match input {
        PolicyInput::Bundle(bytes) => {
            let json: crate::value::Value = serde_json::from_slice(bytes)
                .map_err(|e| BuildError::NotABundle(format!("not JSON ({e})")))?;
            if !json
                .get("payloadType")
                .is_some_and(crate::value::Value::is_string)
            {
                return Err(BuildError::NotABundle("no `payloadType`".into()));
            }
            prefs.insert(POLICY_KEY.into(), Value::Data(bytes.clone()));
        }
        PolicyInput::Document(text) => {
            TomlTree::parse(LABEL, text).map_err(BuildError::Document)?;
            prefs.insert(POLICY_KEY.into(), Value::String(text.clone()));
        }
        PolicyInput::NativeFrom(text) => {
            let tree = TomlTree::parse(LABEL, text).map_err(BuildError::Document)?;
            for (table, value) in &tree.tree {
                let key = match table.as_str() {
                    "settings" => SETTINGS_KEY,
                    "requirements" => REQUIREMENTS_KEY,
                    "policy" => continue,
                    other => {
                        return Err(BuildError::Native(format!(
                            "unknown top-level table `{other}`: a policy document has [policy], [settings] and [requirements]"
                        )));
                    }
                };
                if !value.is_object() {
                    return Err(BuildError::Native(format!("`{table}` must be a table")));
                }
                let converted =
                    from_json(value).map_err(|e| BuildError::Native(format!("[{table}]: {e}")))?;
                prefs.insert(key.into(), converted);
            }
            if prefs.is_empty() {
                return Err(BuildError::Native(
                    "the document has no [settings] or [requirements] to convert to native dictionaries".into(),
                ));
            }
        }
    }
    if let Some(trust) = &opts.trust_root {
        let text = std::str::from_utf8(trust)
            .map_err(|_| BuildError::TrustRoot("not UTF-8 text".into()))?;
        TomlTree::parse("trust root", text).map_err(|p| BuildError::TrustRoot(p.to_string()))?;
        prefs.insert(TRUST_ROOT_KEY.into(), Value::Data(trust.clone()));
    }
    if !opts.trust_root_chain.is_empty() {
        if opts.trust_root.is_none() {
            return Err(BuildError::TrustRoot(
                "a trust root chain needs the trust root it leads to".into(),
            ));
        }
        let mut chain = Vec::new();
        for (i, root) in opts.trust_root_chain.iter().enumerate() {
            let text = std::str::from_utf8(root)
                .map_err(|_| BuildError::TrustRoot(format!("chain entry {i}: not UTF-8 text")))?;
            TomlTree::parse("trust root chain", text)
                .map_err(|p| BuildError::TrustRoot(format!("chain entry {i}: {p}")))?;
            chain.push(Value::Data(root.clone()));
        }
        prefs.insert(TRUST_ROOT_CHAIN_KEY.into(), Value::Array(chain));
    }
    prefs.sort_keys();
    Ok(prefs)
}

fn check_options(opts: &ProfileOptions) -> Result<(), BuildError> {
    let bad = |field: &'static str, message: &str| {
        Err(BuildError::Option {
            field,
            message: message.into(),
        })
    };
    if opts.identifier.is_empty()
        || opts
            .identifier
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return bad(
            "identifier",
            "the profile identifier must be a non-empty reverse-DNS name without spaces, such as com.example.mandate",
        );
    }
    if check_name("domain", &opts.domain).is_err() || opts.domain.chars().any(char::is_whitespace) {
        return bad(
            "domain",
            "the domain must be a preferences domain such as dev.mandate",
        );
    }
    if opts.display_name.trim().is_empty() {
        return bad("display_name", "the display name must not be empty");
    }
    Ok(())
}

fn describe_input(input: &PolicyInput, domain: &str) -> String {
    let what = match input {
        PolicyInput::Bundle(_) => "a signed policy bundle",
        PolicyInput::Document(_) => "a policy document",
        PolicyInput::NativeFrom(_) => "settings and requirements",
    };
    format!(
        "Managed policy for AI coding agents: forces {what} in the {domain} preferences domain, read by mandate from /Library/Managed Preferences/{domain}.plist."
    )
}

fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

/// Builds an XML configuration profile forcing the domain's keys: `Policy`
/// (a bundle as `<data>`, a document as `<string>`) or native `Settings` and
/// `Requirements` dictionaries, plus `TrustRoot` when given.
///
/// The output is deterministic: UUIDs come from [`deterministic_uuid`] over
/// the identifier and the content, keys are sorted, so the same inputs give
/// byte-identical profiles. Documents are checked for TOML syntax only;
/// check them against the schema first (`Layer::parse_policy`, or
/// `mandate validate`).
///
/// ```
/// use mandate::mdm::{PolicyInput, ProfileOptions, build_mobileconfig, parse_profile};
///
/// let doc = "[requirements]\n\"sandbox.mode\" = { allowed = [\"read-only\"] }\n";
/// let opts = ProfileOptions::new("com.example.mandate", "Example Corp");
/// let bytes = build_mobileconfig(&PolicyInput::Document(doc.into()), &opts)?;
/// assert_eq!(bytes, build_mobileconfig(&PolicyInput::Document(doc.into()), &opts)?);
/// let profile = parse_profile(&bytes).expect("parses");
/// assert_eq!(profile.domains(), ["dev.mandate"]);
/// # Ok::<(), mandate::mdm::BuildError>(())
/// ```
pub fn build_mobileconfig(
    input: &PolicyInput,
    opts: &ProfileOptions,
) -> Result<Vec<u8>, BuildError> {
    check_options(opts)?;
    let prefs = preferences(input, opts)?;

    // Everything that determines the profile's content feeds the UUIDs.
    let mut content = Vec::new();
    Value::Dictionary(prefs.clone())
        .to_writer_binary(&mut content)
        .map_err(|e| BuildError::Encode(e.to_string()))?;
    let form = match opts.form {
        ProfileForm::ManagedClient => "ManagedClient",
        ProfileForm::CustomSettings => "CustomSettings",
    };
    for part in [opts.domain.as_str(), opts.scope.name(), form] {
        content.push(0);
        content.extend_from_slice(part.as_bytes());
    }
    let payload_uuid = deterministic_uuid(&opts.identifier, &content, "payload");
    let profile_uuid = deterministic_uuid(&opts.identifier, &content, "profile");
    let description = opts
        .description
        .clone()
        .unwrap_or_else(|| describe_input(input, &opts.domain));

    let mut payload = Dictionary::new();
    match opts.form {
        ProfileForm::ManagedClient => {
            let mut entry = Dictionary::new();
            entry.insert("mcx_preference_settings".into(), Value::Dictionary(prefs));
            let mut levels = Dictionary::new();
            levels.insert(
                "Forced".into(),
                Value::Array(vec![Value::Dictionary(entry)]),
            );
            let mut domains = Dictionary::new();
            domains.insert(opts.domain.clone(), Value::Dictionary(levels));
            payload.insert("PayloadContent".into(), Value::Dictionary(domains));
            payload.insert("PayloadType".into(), string(MANAGED_CLIENT_TYPE));
        }
        ProfileForm::CustomSettings => {
            for (key, value) in prefs {
                payload.insert(key, value);
            }
            payload.insert("PayloadType".into(), string(&opts.domain));
        }
    }
    payload.insert(
        "PayloadDisplayName".into(),
        string(&format!("{} ({})", opts.display_name, opts.domain)),
    );
    payload.insert("PayloadEnabled".into(), Value::Boolean(true));
    payload.insert(
        "PayloadIdentifier".into(),
        string(&format!("{}.{}", opts.identifier, opts.domain)),
    );
    payload.insert("PayloadOrganization".into(), string(&opts.organization));
    payload.insert("PayloadUUID".into(), string(&payload_uuid));
    payload.insert("PayloadVersion".into(), Value::Integer(1.into()));
    payload.sort_keys();

    let mut profile = Dictionary::new();
    profile.insert(
        "PayloadContent".into(),
        Value::Array(vec![Value::Dictionary(payload)]),
    );
    profile.insert("PayloadDescription".into(), string(&description));
    profile.insert("PayloadDisplayName".into(), string(&opts.display_name));
    profile.insert("PayloadIdentifier".into(), string(&opts.identifier));
    profile.insert("PayloadOrganization".into(), string(&opts.organization));
    profile.insert(
        "PayloadRemovalDisallowed".into(),
        Value::Boolean(opts.removal_disallowed),
    );
    profile.insert("PayloadScope".into(), string(opts.scope.name()));
    profile.insert("PayloadType".into(), string("Configuration"));
    profile.insert("PayloadUUID".into(), string(&profile_uuid));
    profile.insert("PayloadVersion".into(), Value::Integer(1.into()));

    let mut out = Vec::new();
    Value::Dictionary(profile)
        .to_writer_xml(&mut out)
        .map_err(|e| BuildError::Encode(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    const DOC: &str = "[policy]\nid = \"acme\"\nversion = 2\n\n[settings]\nsandbox.mode = \"read-only\"\n\n[requirements]\n\"sandbox.mode\" = { allowed = [\"read-only\", \"workspace-write\"] }\n";

    fn opts() -> ProfileOptions {
        ProfileOptions::new("com.example.mandate", "Example Corp")
    }

    #[test]
    fn built_profiles_parse_back() {
        for form in [ProfileForm::ManagedClient, ProfileForm::CustomSettings] {
            let options = ProfileOptions { form, ..opts() };
            let bytes = build_mobileconfig(&PolicyInput::Document(DOC.into()), &options).unwrap();
            let profile = parse_profile(&bytes).unwrap();
            assert_eq!(profile.identifier, "com.example.mandate");
            assert_eq!(profile.scope, Some(Scope::System));
            assert_eq!(profile.removal_disallowed, Some(true));
            assert_eq!(profile.organization.as_deref(), Some("Example Corp"));
            assert_eq!(profile.envelope, ProfileEnvelope::Plain);
            assert_eq!(profile.encoding, PlistEncoding::Xml);
            assert_eq!(profile.payloads.len(), 1);
            let payload = &profile.payloads[0];
            assert_eq!(
                payload.kind,
                match form {
                    ProfileForm::ManagedClient => PayloadKind::ManagedClient,
                    ProfileForm::CustomSettings => PayloadKind::CustomSettings,
                }
            );
            assert_eq!(payload.identifier, "com.example.mandate.dev.mandate");
            let (domain, prefs) = &payload.domains[0];
            assert_eq!(domain, "dev.mandate");
            assert_eq!(
                prefs.forced.get("Policy").and_then(Value::as_string),
                Some(DOC)
            );
            assert_eq!(prefs.forced.len(), 1);
        }
    }

    #[test]
    fn uuids_are_deterministic_and_depend_on_content() {
        let a = build_mobileconfig(&PolicyInput::Document(DOC.into()), &opts()).unwrap();
        let b = build_mobileconfig(&PolicyInput::Document(DOC.into()), &opts()).unwrap();
        assert_eq!(a, b);
        let other =
            build_mobileconfig(&PolicyInput::Document(format!("{DOC}\n")), &opts()).unwrap();
        let (pa, po) = (parse_profile(&a).unwrap(), parse_profile(&other).unwrap());
        assert_ne!(pa.uuid, po.uuid);
        assert_ne!(pa.payloads[0].uuid, pa.uuid);
        let user = build_mobileconfig(
            &PolicyInput::Document(DOC.into()),
            &ProfileOptions {
                scope: Scope::User,
                ..opts()
            },
        )
        .unwrap();
        assert_ne!(parse_profile(&user).unwrap().uuid, pa.uuid);
        for uuid in [&pa.uuid, &pa.payloads[0].uuid] {
            let groups: Vec<&str> = uuid.split('-').collect();
            assert_eq!(
                groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(
                uuid.chars()
                    .all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_uppercase())
            );
            assert!(groups[2].starts_with('5'));
            assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'A' | b'B'));
        }
    }

    #[test]
    fn bundles_travel_as_data_and_native_as_dictionaries() {
        let bundle = br#"{"payloadType":"application/vnd.mandate.policy+toml","payload":"","signatures":[]}"#.to_vec();
        let bytes = build_mobileconfig(&PolicyInput::Bundle(bundle.clone()), &opts()).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let after = &text[text.find("<key>Policy</key>").unwrap() + 17..];
        assert!(after.trim_start().starts_with("<data>"), "{text}");
        let profile = parse_profile(&bytes).unwrap();
        let forced = &profile.payloads[0].domains[0].1.forced;
        assert_eq!(
            forced.get("Policy").and_then(Value::as_data),
            Some(&bundle[..])
        );

        let native = build_mobileconfig(&PolicyInput::NativeFrom(DOC.into()), &opts()).unwrap();
        let profile = parse_profile(&native).unwrap();
        let forced = &profile.payloads[0].domains[0].1.forced;
        let keys: Vec<&String> = forced.keys().collect();
        assert_eq!(keys, ["Requirements", "Settings"]);
        let settings = forced
            .get("Settings")
            .and_then(Value::as_dictionary)
            .unwrap();
        let sandbox = settings
            .get("sandbox")
            .and_then(Value::as_dictionary)
            .unwrap();
        assert_eq!(
            sandbox.get("mode").and_then(Value::as_string),
            Some("read-only")
        );
        let reqs = forced
            .get("Requirements")
            .and_then(Value::as_dictionary)
            .unwrap();
        assert!(reqs.get("sandbox.mode").is_some());
    }

    #[test]
    fn trust_root_is_carried() {
        let options = ProfileOptions {
            trust_root: Some(b"version = 1\n".to_vec()),
            ..opts()
        };
        let bytes = build_mobileconfig(&PolicyInput::Document(DOC.into()), &options).unwrap();
        let profile = parse_profile(&bytes).unwrap();
        let forced = &profile.payloads[0].domains[0].1.forced;
        assert_eq!(
            forced.get("TrustRoot").and_then(Value::as_data),
            Some(&b"version = 1\n"[..])
        );
        let bad = ProfileOptions {
            trust_root: Some(vec![0xFF]),
            ..opts()
        };
        assert!(matches!(
            build_mobileconfig(&PolicyInput::Document(DOC.into()), &bad),
            Err(BuildError::TrustRoot(_))
        ));
    }

    #[test]
    fn bad_build_inputs() {
        let e =
            build_mobileconfig(&PolicyInput::Bundle(b"[settings]".to_vec()), &opts()).unwrap_err();
        assert!(matches!(e, BuildError::NotABundle(_)), "{e}");
        let e =
            build_mobileconfig(&PolicyInput::Bundle(b"{\"a\": 1}".to_vec()), &opts()).unwrap_err();
        assert!(e.to_string().contains("payloadType"), "{e}");
        let e =
            build_mobileconfig(&PolicyInput::Document("[settings\n".into()), &opts()).unwrap_err();
        assert!(e.to_string().starts_with("policy document:1:"), "{e}");
        let e = build_mobileconfig(
            &PolicyInput::NativeFrom("[policy]\nid = \"x\"\n".into()),
            &opts(),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("no [settings] or [requirements]"),
            "{e}"
        );
        let e = build_mobileconfig(&PolicyInput::NativeFrom("[other]\na = 1\n".into()), &opts())
            .unwrap_err();
        assert!(
            e.to_string().contains("unknown top-level table `other`"),
            "{e}"
        );
        for (field, options) in [
            ("identifier", ProfileOptions::new("com example", "x")),
            (
                "domain",
                ProfileOptions {
                    domain: "../etc".into(),
                    ..opts()
                },
            ),
            (
                "display_name",
                ProfileOptions {
                    display_name: " ".into(),
                    ..opts()
                },
            ),
        ] {
            let e = build_mobileconfig(&PolicyInput::Document(DOC.into()), &options).unwrap_err();
            assert!(
                matches!(e, BuildError::Option { field: f, .. } if f == field),
                "{e}"
            );
        }
    }

    #[test]
    fn preview_writes_system_and_user_files() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = build_mobileconfig(&PolicyInput::Document(DOC.into()), &opts()).unwrap();
        let profile = parse_profile(&bytes).unwrap();
        let written = install_preview(&profile, dir.path(), Some("ana")).unwrap();
        let expected = dir
            .path()
            .join("Library/Managed Preferences/dev.mandate.plist");
        assert_eq!(written, std::slice::from_ref(&expected));
        let file = fs::read(&expected).unwrap();
        assert!(file.starts_with(b"bplist00"));
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&expected), 0o644);
        assert_eq!(mode(&dir.path().join("Library")), 0o755);
        assert_eq!(mode(&dir.path().join("Library/Managed Preferences")), 0o755);

        let user = ProfileOptions {
            scope: Scope::User,
            ..opts()
        };
        let bytes = build_mobileconfig(&PolicyInput::Document(DOC.into()), &user).unwrap();
        let profile = parse_profile(&bytes).unwrap();
        assert!(matches!(
            install_preview(&profile, dir.path(), None),
            Err(InstallError::UserRequired)
        ));
        assert!(matches!(
            install_preview(&profile, dir.path(), Some("../root")),
            Err(InstallError::BadName { what: "user", .. })
        ));
        let written =
            install_preview_as(&profile, dir.path(), Some("ana"), PlistFormat::Xml).unwrap();
        let expected = dir
            .path()
            .join("Library/Managed Preferences/ana/dev.mandate.plist");
        assert_eq!(written, std::slice::from_ref(&expected));
        assert!(fs::read(&expected).unwrap().starts_with(b"<?xml"));
        assert_eq!(mode(expected.parent().unwrap()), 0o755);
    }

    #[test]
    fn preview_refuses_symlinks_and_hostile_domains() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("Library")).unwrap();
        let bytes = build_mobileconfig(&PolicyInput::Document(DOC.into()), &opts()).unwrap();
        let profile = parse_profile(&bytes).unwrap();
        assert!(matches!(
            install_preview(&profile, dir.path(), None),
            Err(InstallError::Unsafe { .. })
        ));
        let mut hostile = profile.clone();
        hostile.payloads[0].domains[0].0 = "../../evil".into();
        let clean = tempfile::tempdir().unwrap();
        assert!(matches!(
            install_preview(&hostile, clean.path(), None),
            Err(InstallError::BadName { what: "domain", .. })
        ));
    }

    #[test]
    fn managed_client_levels() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
  <key>PayloadType</key><string>Configuration</string>
  <key>PayloadIdentifier</key><string>p</string>
  <key>PayloadUUID</key><string>U</string>
  <key>PayloadContent</key><array><dict>
    <key>PayloadType</key><string>com.apple.ManagedClient.preferences</string>
    <key>PayloadIdentifier</key><string>p.1</string>
    <key>PayloadUUID</key><string>U1</string>
    <key>PayloadContent</key><dict>
      <key>com.example.app</key><dict>
        <key>Forced</key><array>
          <dict><key>mcx_preference_settings</key><dict><key>A</key><integer>1</integer></dict></dict>
          <dict><key>mcx_preference_settings</key><dict><key>B</key><true/></dict></dict>
        </array>
        <key>Set-Once</key><array>
          <dict><key>mcx_data_timestamp</key><date>2013-12-06T18:58:51Z</date>
                <key>mcx_preference_settings</key><dict><key>C</key><string>c</string></dict></dict>
        </array>
        <key>Often</key><array><dict><key>mcx_preference_settings</key><dict><key>D</key><string>d</string></dict></dict></array>
        <key>mcx_targets</key><array><string>user</string></array>
      </dict>
    </dict>
  </dict></array>
</dict></plist>"#;
        let profile = parse_profile(xml).unwrap();
        assert_eq!(profile.scope, None);
        assert_eq!(profile.effective_scope(), Scope::User);
        let (domain, prefs) = &profile.payloads[0].domains[0];
        assert_eq!(domain, "com.example.app");
        assert_eq!(prefs.forced.keys().collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!(prefs.set_once.len(), 2);
        assert_eq!(
            prefs.set_once[0].timestamp.as_deref(),
            Some("2013-12-06T18:58:51Z")
        );
        assert_eq!(prefs.set_once[1].timestamp, None);
        assert_eq!(
            prefs.set_once[1]
                .settings
                .get("D")
                .and_then(Value::as_string),
            Some("d")
        );
    }

    #[test]
    fn structure_errors_name_the_key_path() {
        let wrap = |content: &str| {
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>
                <key>PayloadType</key><string>Configuration</string>
                <key>PayloadIdentifier</key><string>p</string><key>PayloadUUID</key><string>U</string>
                <key>PayloadContent</key>{content}</dict></plist>"#
            )
        };
        let e = parse_profile(wrap("<string>x</string>").as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "PayloadContent: must be an <array> of payloads, found <string>x</string>"
        );
        let e = parse_profile(
            wrap("<array><dict><key>PayloadType</key><true/></dict></array>").as_bytes(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "PayloadContent > 0 > PayloadType: must be a <string>, found <true/>"
        );
        let e = parse_profile(
            wrap(
                "<array><dict><key>PayloadType</key><string>com.apple.ManagedClient.preferences</string>
                 <key>PayloadIdentifier</key><string>a</string><key>PayloadUUID</key><string>b</string>
                 <key>PayloadContent</key><dict><key>d</key><dict><key>Forced</key><dict/></dict></dict></dict></array>",
            )
            .as_bytes(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "PayloadContent > 0 > PayloadContent > d > Forced: must be an <array>, found a <dict>"
        );
        let e = parse_profile(
            b"<?xml version=\"1.0\"?><plist><dict><key>Settings</key><dict/></dict></plist>",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("looks like a managed preferences plist"),
            "{e}"
        );
        let e = parse_profile(b"<?xml version=\"1.0\"?><plist><dict><key>PayloadType</key><string>com.x</string></dict></plist>")
            .unwrap_err();
        assert!(e.to_string().contains("\"Configuration\""), "{e}");
    }

    /// DER helpers to build a CMS SignedData by hand.
    fn der(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if body.len() < 0x80 {
            out.push(body.len() as u8);
        } else {
            out.push(0x82);
            out.extend((body.len() as u16).to_be_bytes());
        }
        out.extend(body);
        out
    }

    fn signed_data(content_part: Vec<u8>, indefinite: bool) -> Vec<u8> {
        let data_oid = der(
            0x06,
            &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01],
        );
        let encap = if content_part.is_empty() {
            der(0x30, &data_oid)
        } else {
            der(0x30, &[data_oid, der(0xA0, &content_part)].concat())
        };
        let signed = der(
            0x30,
            &[der(0x02, &[1]), der(0x31, &[]), encap, der(0x31, &[])].concat(),
        );
        let oid = der(
            0x06,
            &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02],
        );
        if indefinite {
            let mut out = vec![0x30, 0x80];
            out.extend(oid);
            out.extend([0xA0, 0x80]);
            out.extend(signed);
            out.extend([0, 0, 0, 0]);
            out
        } else {
            der(0x30, &[oid, der(0xA0, &signed)].concat())
        }
    }

    #[test]
    fn cms_content_is_extracted_definite_indefinite_and_chunked() {
        let inner = build_mobileconfig(&PolicyInput::Document(DOC.into()), &opts()).unwrap();
        let plain = parse_profile(&inner).unwrap();
        let chunked = {
            let mut body = vec![0x24, 0x80];
            for chunk in inner.chunks(100) {
                body.extend(der(0x04, chunk));
            }
            body.extend([0, 0]);
            body
        };
        for bytes in [
            signed_data(der(0x04, &inner), false),
            signed_data(der(0x04, &inner), true),
            signed_data(chunked, true),
        ] {
            let profile = parse_profile(&bytes).unwrap();
            assert_eq!(profile.envelope, ProfileEnvelope::CmsSignedUnverified);
            assert_eq!(profile.payloads, plain.payloads);
        }
        // Truncations and garbage are errors, never panics.
        let good = signed_data(der(0x04, &inner), false);
        for len in [2, 5, 20, 40, good.len() / 2] {
            assert!(
                matches!(parse_profile(&good[..len]), Err(ProfileError::Cms { .. })),
                "{len}"
            );
        }
        assert!(matches!(
            parse_profile(&[0x30, 0x80, 0x30, 0x80, 0x30, 0x80]),
            Err(ProfileError::Cms { .. })
        ));
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 1000)
            .flatten()
            .collect();
        assert!(matches!(
            parse_profile(&deep),
            Err(ProfileError::Cms { .. })
        ));
        let detached = signed_data(Vec::new(), false);
        let e = parse_profile(&detached).unwrap_err();
        assert!(e.to_string().contains("could not be extracted"), "{e}");
    }
}
