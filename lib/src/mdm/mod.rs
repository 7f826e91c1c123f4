//! macOS managed preferences: the `mdm` and `mdm-user` sources, and the
//! configuration profiles that put them on a Mac.
//!
//! An MDM (Jamf Pro, Intune, Kandji …) installs a configuration profile;
//! macOS then writes the preferences it forces for a domain to
//! `/Library/Managed Preferences/<domain>.plist` (System scope) or
//! `/Library/Managed Preferences/<user>/<domain>.plist` (User scope), as a
//! binary plist owned by root. `mandate` reads that file, never the profile:
//!
//! * [`read_managed_plist`] turns the bytes of such a file into its parts: a
//!   `Policy` (a signed bundle or a policy document), a `TrustRoot`, and the
//!   native `Settings` / `Requirements` dictionaries as a [`Layer`](crate::Layer)
//!   whose every entry is located by plist key path
//!   (`/Library/Managed Preferences/dev.mandate.plist: Requirements > sandbox.mode`).
//! * [`mobileconfig`] parses profiles (for inspection and for tests),
//!   previews what macOS would write when installing one, and builds
//!   profiles with deterministic UUIDs.
//! * [`jamf`] builds the JSON schema Jamf Pro's *Application & Custom
//!   Settings* payload uses to draw a form for the domain.
//!
//! Plists are parsed with hard limits ([`MAX_DEPTH`], [`MAX_ELEMENTS`],
//! [`MAX_VALUES`], [`MAX_DECODED_BYTES`]), so a hostile file (deeply nested,
//! huge, circular or exponentially shared binary objects) is refused with a
//! message instead of exhausting the stack or memory.

pub mod jamf;
pub mod mobileconfig;
mod parse;
pub mod read;

pub use jamf::jamf_schema;
pub use mobileconfig::{
    BuildError, InstallError, ManagedPrefs, Payload, PayloadKind, PlistFormat, PolicyInput,
    Profile, ProfileEnvelope, ProfileError, ProfileForm, ProfileOptions, Scope, SetOnce,
    build_mobileconfig, deterministic_uuid, install_preview, install_preview_as, parse_profile,
};
pub use parse::{ParsedPlist, PlistEncoding, PlistError, parse_plist};
pub use read::{MdmContent, PolicyPayload, document_origin, read_managed_plist};

/// The deepest nesting of arrays and dictionaries accepted in a plist.
pub const MAX_DEPTH: usize = 32;
/// The most elements accepted in one array or dictionary (room for a
/// native allowlist of 500,000 domains).
pub const MAX_ELEMENTS: usize = 1_000_000;
/// The most values accepted in one plist, counting every element of every
/// collection (binary plists may share objects, so this bounds the expansion).
pub const MAX_VALUES: usize = 2_000_000;
/// The most bytes of strings and data accepted in one plist after decoding
/// (shared objects in a binary plist count each time they are used): the
/// managed file cap, [`MAX_MANAGED_SIZE`](crate::fsafe::MAX_MANAGED_SIZE).
pub const MAX_DECODED_BYTES: usize = crate::fsafe::MAX_MANAGED_SIZE as usize;

/// The plist key holding a policy: a signed bundle or a policy document.
pub const POLICY_KEY: &str = "Policy";
/// The plist key holding the bytes of a `trust.toml`.
pub const TRUST_ROOT_KEY: &str = "TrustRoot";
/// The plist key holding the trust roots between a pinned version and the
/// `TrustRoot` version (an array of trust roots, oldest first), so that a
/// Mac that missed rotations can walk the chain.
pub const TRUST_ROOT_CHAIN_KEY: &str = "TrustRootChain";
/// The plist key holding native settings (managed defaults).
pub const SETTINGS_KEY: &str = "Settings";
/// The plist key holding native requirements (constraints).
pub const REQUIREMENTS_KEY: &str = "Requirements";
