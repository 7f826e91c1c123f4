//! # mandate
//!
//! One effective, non-overridable configuration for AI coding agents.
//!
//! Policy arrives from several **sources** — macOS managed preferences
//! (`mdm`, `mdm-user`), a signed cloud bundle (`cloud`), local policy files
//! (`system`) — and people add their own preferences on top (`session`,
//! `project`, `user`). `mandate` keeps every layer unmerged, combines the
//! managed **requirements** by intersection (each managed layer can only
//! tighten), then picks for every setting the highest-ranked value that
//! complies, recording who proposed what, which constraint refused it and
//! who set that constraint.
//!
//! An agent reads the effective configuration of this machine in a few lines:
//!
//! ```no_run
//! use mandate::{Environment, Options, Resolver};
//!
//! let env = Environment::capture();
//! let effective = Resolver::new(Options::default()).resolve(&env)?;
//! if effective.is_degraded() {
//!     eprintln!("managed policy could not be applied; running locked down");
//! }
//! let mode: Option<&str> = effective.get_str("sandbox.mode");
//! let network: bool = effective.get_bool("sandbox.network").unwrap_or(false);
//! # Ok::<(), mandate::Error>(())
//! ```
//!
//! The same data is what `mandate show --json` prints.
//!
//! Fixed inputs resolve without touching the machine, which is how tests and
//! benchmarks drive the engine:
//!
//! ```
//! use mandate::{Layer, Schema, SourceKind, resolve};
//!
//! let schema = Schema::bundled();
//! let baseline = Layer::parse_policy(
//!     &schema,
//!     SourceKind::System,
//!     "/etc/mandate/policy.d/10-base.toml",
//!     r#"
//! [requirements]
//! "sandbox.mode" = { allowed = ["read-only", "workspace-write"] }
//! "#,
//! )?;
//! let user = Layer::parse_settings(
//!     &schema,
//!     SourceKind::User,
//!     "/home/ana/.config/mandate/config.toml",
//!     "[sandbox]\nmode = \"full-access\"\n",
//! )?;
//! let effective = resolve(&schema, vec![baseline, user]);
//! let key = &effective.keys["sandbox.mode"];
//! assert_eq!(key.value, mandate::json!("workspace-write"));
//! assert_eq!(key.rejected[0].source, "user");
//! # Ok::<(), mandate::Error>(())
//! ```

#![forbid(unsafe_code)]

pub mod admission;
pub mod agents;
pub mod atomic;
pub mod audit;
pub mod cloud;
pub mod constraint;
pub mod decide;
pub mod document;
pub mod env;
pub mod error;
pub mod fsafe;
pub mod glob;
mod hash;
pub mod json;
pub mod kind;
pub mod layer;
pub mod loader;
pub mod mdm;
pub mod paths;
pub mod resolve;
pub mod schema;
mod schema_subset;
pub mod source;
pub mod trust;
pub mod value;

/// Runs a third-party parser so that a panic inside it (a bug on some input)
/// becomes an error naming what happened instead of ending the process:
/// every parser boundary in the library goes through here.
pub(crate) fn contain<T>(parse: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)).map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        format!("the parser failed on this input ({what}); the file is refused")
    })
}

pub use env::Environment;
pub use error::Error;
pub use layer::Layer;
pub use loader::{Options, Resolver, Scope};
pub use paths::Platform;
pub use resolve::{Effective, Status, resolve};
pub use schema::Schema;
pub use source::{Location, ManagedSource, SourceKind};
