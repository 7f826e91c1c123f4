//! Admin signing tools: `keys generate`, `trust init|rotate|verify`, `sign`, `verify`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use mandate::source::ManagedSource;
use mandate::trust::envelope::{Envelope, POLICY_PAYLOAD_TYPE};
use mandate::trust::header::PolicyHeader;
use mandate::trust::keys::{self, PublicKey, SecretKey};
use mandate::trust::root::{
    CloudConfig, Merge, PrecedenceRule, RoleName, TrustRoot, TrustRootBuilder, format_duration,
    parse_duration,
};
use mandate::trust::state::RollbackState;
use mandate::{Layer, Schema, SourceKind};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::EXIT_NO;
use crate::{CliError, Globals, output};

/// `mandate keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate an ed25519 key pair: NAME.key (secret, mode 0600) and NAME.pub.
    Generate {
        /// Path prefix of the files to write (NAME.key, NAME.pub); never overwritten.
        #[arg(long, value_name = "NAME")]
        out: PathBuf,
    },
}

/// `mandate trust …`.
#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Build and sign a first trust root (version 1).
    Init(InitArgs),
    /// Build version N+1 of a trust root, signed by a threshold of N's root keys and of its own.
    Rotate(RotateArgs),
    /// Verify a trust root on its own, or as the rotation of a previous one.
    Verify(TrustVerifyArgs),
}

/// What a trust root says; shared by `init` and `rotate`.
#[derive(Debug, Args)]
pub struct RootContent {
    /// A root key (public key file); repeat for several.
    #[arg(long = "root-key", value_name = "FILE.pub")]
    pub root_keys: Vec<PathBuf>,
    /// How many root keys must sign a trust root.
    #[arg(long)]
    pub root_threshold: Option<u32>,
    /// A policy key (public key file); repeat for several.
    #[arg(long = "policy-key", value_name = "FILE.pub")]
    pub policy_keys: Vec<PathBuf>,
    /// How many policy keys must sign a bundle.
    #[arg(long)]
    pub policy_threshold: Option<u32>,
    /// When the trust root expires (RFC 3339), or a duration from now such as 365d.
    #[arg(long)]
    pub expires: Option<String>,
    /// How long an expired bundle stays in force (e.g. 7d).
    #[arg(long)]
    pub offline_grace: Option<String>,
    /// Managed sources that must be signed, comma-separated (mdm,cloud,system,mdm-user).
    #[arg(long, value_delimiter = ',')]
    pub signed_sources: Option<Vec<String>>,
    /// Managed source precedence, highest first, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub order: Option<Vec<String>>,
    /// A key pattern whose highest-ranked constraint replaces lower ones (e.g. 'network.*'); repeatable.
    #[arg(long = "replace", value_name = "PATTERN")]
    pub replace: Vec<String>,
    /// The cloud bundle URL `mandate sync` fetches.
    #[arg(long)]
    pub cloud_url: Option<String>,
    /// A PEM file of CA certificates for the cloud URL.
    #[arg(long)]
    pub cloud_ca: Option<PathBuf>,
    /// The bundle id a cloud bundle must carry.
    #[arg(long)]
    pub cloud_bundle: Option<String>,
}

/// `mandate trust init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The organisation bundles must name.
    #[arg(long)]
    pub org: String,
    #[command(flatten)]
    pub content: RootContent,
    /// A root secret key to sign with; repeat up to the threshold.
    #[arg(long = "sign", value_name = "FILE.key", required = true)]
    pub sign: Vec<PathBuf>,
    /// Where to write the trust root.
    #[arg(short, long, default_value = "trust.toml")]
    pub output: PathBuf,
}

/// `mandate trust rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The trust root in force (version N).
    #[arg(long, value_name = "trust.toml")]
    pub from: PathBuf,
    #[command(flatten)]
    pub content: RootContent,
    /// Replace the root keys with the --root-key list instead of keeping N's.
    #[arg(long)]
    pub replace_root_keys: bool,
    /// Replace the policy keys with the --policy-key list instead of keeping N's.
    #[arg(long)]
    pub replace_policy_keys: bool,
    /// A secret key to sign with (old and new root keys); repeatable.
    #[arg(long = "sign", value_name = "FILE.key", required = true)]
    pub sign: Vec<PathBuf>,
    /// Where to write version N+1.
    #[arg(short, long)]
    pub output: PathBuf,
}

/// `mandate trust verify`.
#[derive(Debug, Args)]
pub struct TrustVerifyArgs {
    /// The trust root to verify.
    pub file: PathBuf,
    /// Verify it as the rotation of this previous version.
    #[arg(long, value_name = "trust.toml")]
    pub previous: Option<PathBuf>,
}

/// `mandate sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// A policy secret key; repeat to reach the threshold.
    #[arg(long = "key", value_name = "FILE.key", required = true)]
    pub keys: Vec<PathBuf>,
    /// The policy document (with a complete [policy] header).
    pub policy: PathBuf,
    /// Where to write the bundle.
    #[arg(short, long)]
    pub output: PathBuf,
}

/// `mandate verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The trust root to verify against.
    #[arg(long, value_name = "trust.toml")]
    pub trust: PathBuf,
    /// The source the bundle is meant for: system, cloud, mdm or mdm-user (default: its header's channel).
    #[arg(long)]
    pub source: Option<String>,
    /// The bundle.
    pub bundle: PathBuf,
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
}

fn public_key(path: &Path) -> Result<PublicKey, CliError> {
    PublicKey::read(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
}

fn secret_key(path: &Path) -> Result<SecretKey, CliError> {
    SecretKey::read(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
}

fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    mandate::atomic::write_atomic(path, bytes, 0o644)
        .map_err(|e| CliError::usage(format!("{}: cannot write: {e}", path.display())))
}

fn sources(names: &[String]) -> Result<Vec<ManagedSource>, CliError> {
    names
        .iter()
        .map(|n| {
            ManagedSource::from_name(n.trim()).ok_or_else(|| {
                CliError::usage(format!(
                    "unknown managed source `{n}`: use mdm, cloud, system or mdm-user"
                ))
            })
        })
        .collect()
}

fn expiry(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, CliError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| parse_duration(text).map(|d| (now + d).replace_nanosecond(0).unwrap_or(now + d)))
        .map_err(|_| CliError::usage(format!("--expires {text}: give a date-time such as 2027-12-31T00:00:00Z or a duration such as 365d")))
}

impl RootContent {
    /// Applies the flags to a builder; `base` is the root being rotated, whose
    /// keys, thresholds and precedence are kept unless the flags change them.
    fn apply(
        &self,
        mut b: TrustRootBuilder,
        base: Option<&TrustRoot>,
        replace_root: bool,
        replace_policy: bool,
        now: OffsetDateTime,
    ) -> Result<TrustRootBuilder, CliError> {
        let load = |paths: &[PathBuf]| {
            paths
                .iter()
                .map(|p| public_key(p))
                .collect::<Result<Vec<_>, _>>()
        };
        for (role, flags, threshold, replace) in [
            (
                RoleName::Root,
                &self.root_keys,
                self.root_threshold,
                replace_root,
            ),
            (
                RoleName::Policy,
                &self.policy_keys,
                self.policy_threshold,
                replace_policy,
            ),
        ] {
            let mut keys: Vec<PublicKey> = match base {
                Some(root) if !replace => root.role_keys(role).into_iter().cloned().collect(),
                _ => Vec::new(),
            };
            for key in load(flags)? {
                if !keys.iter().any(|k| k.id() == key.id()) {
                    keys.push(key);
                }
            }
            let threshold = threshold
                .or(base.map(|r| r.role(role).threshold))
                .unwrap_or(1);
            b = match role {
                RoleName::Root => b.root_keys(keys, threshold),
                RoleName::Policy => b.policy_keys(keys, threshold),
            };
        }
        if let Some(e) = &self.expires {
            b = b.expires(expiry(e, now)?);
        }
        if let Some(g) = &self.offline_grace {
            b = b.offline_grace(parse_duration(g).map_err(CliError::usage)?);
        }
        if let Some(s) = &self.signed_sources {
            b = b.signed_sources(sources(s)?);
        }
        if self.order.is_some() || !self.replace.is_empty() {
            let mut p = base.map(|r| r.precedence().clone()).unwrap_or_default();
            if let Some(order) = &self.order {
                p.order = sources(order)?;
            }
            if !self.replace.is_empty() {
                p.rules = self
                    .replace
                    .iter()
                    .map(|k| PrecedenceRule {
                        keys: k.clone(),
                        mode: Merge::Replace,
                    })
                    .collect();
            }
            b = b.precedence(p);
        }
        if let Some(url) = &self.cloud_url {
            if self.cloud_bundle.is_none() {
                return Err(CliError::usage(
                    "--cloud-url needs --cloud-bundle ID (the id in the bundle's [policy] header): without it a device's first `mandate sync` would accept whichever bundle of your organisation the server returns",
                ));
            }
            b = b.cloud(Some(CloudConfig {
                url: url.clone(),
                ca: self.cloud_ca.clone(),
                bundle: self.cloud_bundle.clone(),
            }));
        }
        Ok(b)
    }
}

/// `mandate keys generate`.
pub fn keys(_: &Globals, cmd: &KeysCommand) -> Result<ExitCode, CliError> {
    let KeysCommand::Generate { out } = cmd;
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        CliError::usage("--out NAME: give a file name prefix such as keys/root-1")
    })?;
    std::fs::create_dir_all(dir).map_err(|e| CliError::usage(format!("{}: {e}", dir.display())))?;
    let (secret, public) = keys::generate().map_err(|e| CliError::usage(e.to_string()))?;
    let paths =
        keys::write_key_pair(dir, name, &secret).map_err(|e| CliError::usage(e.to_string()))?;
    output::out(&format!(
        "key id {}\nsecret {} (mode 0600: keep it offline)\npublic {}",
        public.id(),
        paths.secret.display(),
        paths.public.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// `mandate trust …`.
pub fn trust(_: &Globals, cmd: &TrustCommand) -> Result<ExitCode, CliError> {
    let now = OffsetDateTime::now_utc();
    match cmd {
        TrustCommand::Init(args) => {
            let default_expiry = now + time::Duration::days(365);
            let builder = TrustRootBuilder::new(args.org.clone(), default_expiry);
            let builder = args.content.apply(builder, None, true, true, now)?;
            let body = builder.body().map_err(|e| CliError::usage(e.to_string()))?;
            let signers = args
                .sign
                .iter()
                .map(|p| secret_key(p))
                .collect::<Result<Vec<_>, _>>()?;
            let refs: Vec<&SecretKey> = signers.iter().collect();
            let file = TrustRoot::sign(&body, &refs).map_err(|e| CliError::usage(e.to_string()))?;
            let root = TrustRoot::verify_self(&file, now).map_err(|e| {
                CliError::usage(format!("the trust root would not verify: {e}"))
                    .hint("sign with at least the root threshold of the --root-key keys")
            })?;
            write_new_file(&args.output, &file)?;
            output::out(&format!(
                "wrote {}\n{}",
                args.output.display(),
                describe(&root)
            ));
            Ok(ExitCode::SUCCESS)
        }
        TrustCommand::Rotate(args) => {
            let current = TrustRoot::verify_self(&read(&args.from)?, OffsetDateTime::UNIX_EPOCH)
                .map_err(|e| CliError::usage(format!("{}: {e}", args.from.display())))?;
            let builder = TrustRootBuilder::next_version(&current);
            let builder = args.content.apply(
                builder,
                Some(&current),
                args.replace_root_keys,
                args.replace_policy_keys,
                now,
            )?;
            let body = builder.body().map_err(|e| CliError::usage(e.to_string()))?;
            let signers = args
                .sign
                .iter()
                .map(|p| secret_key(p))
                .collect::<Result<Vec<_>, _>>()?;
            let refs: Vec<&SecretKey> = signers.iter().collect();
            let file = TrustRoot::sign(&body, &refs).map_err(|e| CliError::usage(e.to_string()))?;
            let next = current.verify_rotation(&file).map_err(|e| {
                CliError::usage(format!("version {} would not be accepted: {e}", current.version() + 1)).hint(
                    "a rotation must be signed by a threshold of the current root keys and a threshold of the new ones",
                )
            })?;
            write_new_file(&args.output, &file)?;
            output::out(&format!(
                "wrote {} (version {} → {})\n{}",
                args.output.display(),
                current.version(),
                next.version(),
                describe(&next)
            ));
            Ok(ExitCode::SUCCESS)
        }
        TrustCommand::Verify(args) => {
            let bytes = read(&args.file)?;
            let result = match &args.previous {
                None => TrustRoot::verify_self(&bytes, now),
                Some(prev) => TrustRoot::verify_self(&read(prev)?, OffsetDateTime::UNIX_EPOCH)
                    .and_then(|p| p.verify_rotation(&bytes))
                    .and_then(|r| r.check_not_expired(now).map(|()| r)),
            };
            match result {
                Ok(root) => {
                    output::out(&format!(
                        "{}: verified\n{}",
                        args.file.display(),
                        describe(&root)
                    ));
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Err(CliError::no(format!("{}: {e}", args.file.display()))),
            }
        }
    }
}

fn describe(root: &TrustRoot) -> String {
    let role = |r: RoleName| {
        let role = root.role(r);
        let ids: Vec<String> = role.keys.iter().map(ToString::to_string).collect();
        format!("{}-of-{} [{}]", role.threshold, ids.len(), ids.join(", "))
    };
    let p = root.precedence();
    let order: Vec<&str> = p.order.iter().map(|s| s.name()).collect();
    let rules: Vec<String> = p
        .rules
        .iter()
        .map(|r| format!("{} {}", r.keys, r.mode.name()))
        .collect();
    let signed: Vec<&str> = root.signed_sources().iter().map(|s| s.name()).collect();
    let signers: Vec<String> = root.signers().iter().map(ToString::to_string).collect();
    format!(
        "  org {}\n  version {}, expires {}\n  root keys {}\n  policy keys {}\n  precedence {}{}\n  must be signed: {}\n  offline grace {}\n  cloud {}\n  signed by {}",
        root.org(),
        root.version(),
        root.expires().format(&Rfc3339).unwrap_or_default(),
        role(RoleName::Root),
        role(RoleName::Policy),
        order.join(" > "),
        if rules.is_empty() {
            String::new()
        } else {
            format!(" (rules: {})", rules.join(", "))
        },
        if signed.is_empty() {
            "nothing".into()
        } else {
            signed.join(", ")
        },
        format_duration(root.offline_grace()),
        root.cloud()
            .map_or("not configured".into(), |c| c.url.clone()),
        signers.join(", ")
    )
}

/// `mandate sign`.
pub fn sign(globals: &Globals, args: &SignArgs) -> Result<ExitCode, CliError> {
    let bytes = read(&args.policy)?;
    let origin = args.policy.display().to_string();
    let text = mandate::loader::utf8(&origin, &bytes).map_err(|e| CliError::no(e.to_string()))?;
    let header = PolicyHeader::parse(&bytes)
        .map_err(|e| CliError::no(format!("{origin}: {e}")))?
        .ok_or_else(|| CliError::no(format!("{origin}: a bundle needs a [policy] header")))?
        .require_signed_fields()
        .map_err(|e| CliError::no(format!("{origin}: {e}")).hint("a signed policy names org, channel, id, version, issued_at and expires in [policy]"))?;
    let resolver = mandate::Resolver::with_schema_file(globals.options())?;
    let schema: &Schema = resolver.schema();
    Layer::parse_policy(schema, SourceKind::System, &origin, text)
        .map_err(|e| CliError::no(e.to_string()))?;
    let keys = args
        .keys
        .iter()
        .map(|p| secret_key(p))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&SecretKey> = keys.iter().collect();
    let envelope = Envelope::sign(POLICY_PAYLOAD_TYPE, &bytes, &refs);
    write_new_file(&args.output, &envelope.to_json())?;
    let ids: Vec<String> = keys.iter().map(|k| k.id().to_string()).collect();
    output::out(&format!(
        "wrote {}: {} v{} for {} / {} signed by {}",
        args.output.display(),
        header.id,
        header.version,
        header.org,
        header.channel.name(),
        ids.join(", ")
    ));
    Ok(ExitCode::SUCCESS)
}

/// `mandate verify`.
pub fn verify(_: &Globals, args: &VerifyArgs) -> Result<ExitCode, CliError> {
    let now = OffsetDateTime::now_utc();
    let root = TrustRoot::verify_self(&read(&args.trust)?, now)
        .map_err(|e| CliError::no(format!("{}: {e}", args.trust.display())))?;
    let bytes = read(&args.bundle)?;
    let first = match &args.source {
        Some(name) => sources(std::slice::from_ref(name))?[0],
        None => ManagedSource::System,
    };
    let state = RollbackState::new();
    let mut result = mandate::trust::verify_bundle(&bytes, &root, first, now, &state);
    // Without --source, a bundle is checked for the channel its signed header names.
    if args.source.is_none()
        && let Err(mandate::trust::BundleError::ChannelMismatch { found, .. }) = &result
    {
        let source = match found.name() {
            "cloud" => ManagedSource::Cloud,
            "mdm" => ManagedSource::Mdm,
            _ => ManagedSource::System,
        };
        result = mandate::trust::verify_bundle(&bytes, &root, source, now, &state);
    }
    match result {
        Ok(b) => {
            let signers: Vec<String> = b.signers.iter().map(ToString::to_string).collect();
            output::out(&format!(
                "{}: verified\n  {} v{} for {} / {}\n  issued {}, expires {} ({})\n  signed by {}\n  trust root version {}",
                args.bundle.display(),
                b.header.id,
                b.header.version,
                b.header.org,
                b.header.channel.name(),
                b.header.issued_at.format(&Rfc3339).unwrap_or_default(),
                b.header.expires.format(&Rfc3339).unwrap_or_default(),
                match b.expiry {
                    mandate::trust::Expiry::Fresh { .. } => "fresh".to_owned(),
                    mandate::trust::Expiry::InGrace { left, .. } =>
                        format!("expired, in offline grace for {}", format_duration(left)),
                    mandate::trust::Expiry::PastGrace { .. } =>
                        "expired, past the offline grace: devices lock down".to_owned(),
                },
                signers.join(", "),
                b.root_version
            ));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            output::out(&format!(
                "{}: refused [{}]: {e}",
                args.bundle.display(),
                e.code()
            ));
            Ok(ExitCode::from(EXIT_NO))
        }
    }
}
