//! Admin signing tools: `keys generate`, `trust init|rotate|verify`, `sign`, `verify`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use mandate::source::ManagedSource;
use mandate::trust::envelope::{Envelope, POLICY_PAYLOAD_TYPE};
use mandate::trust::header::{Channel, PolicyHeader};
use mandate::trust::keys::{self, PublicKey, SecretKey};
use mandate::trust::root::{
    CloudConfig, Merge, PrecedenceRule, RoleName, RoleSignatures, RootSignatures, TrustRoot,
    TrustRootBuilder, TrustRootError, format_duration, parse_duration,
};
use mandate::trust::signer::{
    AGENT_PREFIX, AgentSelector, SignError, Signer, SshAgent, is_openssh_public,
    parse_openssh_public,
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
        #[arg(short = 'o', long = "output", alias = "out", value_name = "NAME")]
        out: PathBuf,
    },
}

/// `mandate trust …`.
#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Build a first trust root (version 1), signed now or by several people in turn.
    Init(Box<InitArgs>),
    /// Build version N+1 of a trust root, signed by a threshold of N's root keys and of its own.
    Rotate(Box<RotateArgs>),
    /// Add one root key's signature to a trust root (one step of a key ceremony).
    Sign(TrustSignArgs),
    /// Verify a trust root on its own, or as the rotation of a previous one; say who has not signed.
    Verify(TrustVerifyArgs),
}

/// What a trust root says; shared by `init` and `rotate`.
#[derive(Debug, Args)]
pub struct RootContent {
    /// A root key: a mandate public key file or an OpenSSH ed25519 `.pub`; repeat for several.
    #[arg(long = "root-key", value_name = "FILE.pub")]
    pub root_keys: Vec<PathBuf>,
    /// How many root keys must sign a trust root [init: required with more than one root key,
    /// 1 with one; rotate: version N's].
    #[arg(long, value_name = "N")]
    pub root_threshold: Option<u32>,
    /// A policy key (public key file); repeat for several.
    #[arg(long = "policy-key", value_name = "FILE.pub")]
    pub policy_keys: Vec<PathBuf>,
    /// How many policy keys must sign a bundle [init: 1; rotate: version N's].
    #[arg(long, value_name = "N")]
    pub policy_threshold: Option<u32>,
    /// When the trust root expires: a date-time, a date (2027-12-31), or a duration from now such as 1y
    /// [init: 365d; rotate: version N's].
    #[arg(long, value_name = "DATE|DURATION")]
    pub expires: Option<String>,
    /// How long an expired bundle stays in force, e.g. 7d [init: 7d; rotate: version N's].
    #[arg(long, value_name = "DURATION")]
    pub offline_grace: Option<String>,
    /// Managed sources that must be signed, comma-separated
    /// [init: mdm,cloud,system,mdm-user; rotate: version N's].
    #[arg(long, value_delimiter = ',', value_name = "SOURCES")]
    pub signed_sources: Option<Vec<String>>,
    /// Managed source precedence, highest first, comma-separated
    /// [init: mdm,cloud,system,mdm-user; rotate: version N's].
    #[arg(long, value_delimiter = ',', value_name = "SOURCES")]
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

/// Who signs a trust root now; shared by `init` and `rotate`.
#[derive(Debug, Args)]
pub struct RootSigning {
    /// A root key to sign with now: a secret key file, or `ssh-agent:SHA256:<fingerprint>` /
    /// `ssh-agent:FILE.pub` for a key held by ssh-agent (SSH_AUTH_SOCK); repeatable.
    #[arg(long = "sign", value_name = "KEY")]
    pub sign: Vec<String>,
    /// Write the root without any signature; root key holders then add theirs with
    /// `mandate trust sign`.
    #[arg(long, conflicts_with = "sign")]
    pub unsigned: bool,
    /// Write the root even though the --sign keys do not meet the threshold yet.
    #[arg(long)]
    pub partial: bool,
}

/// `mandate trust init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The organisation bundles must name.
    #[arg(long)]
    pub org: String,
    #[command(flatten)]
    pub content: RootContent,
    #[command(flatten)]
    pub signing: RootSigning,
    /// Where to write the trust root (`-` for standard output); an existing file is never
    /// overwritten.
    #[arg(short, long, alias = "out", default_value = "trust.toml")]
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
    /// Replace the policy keys with the --policy-key list instead of keeping N's; the keys
    /// dropped are retired (see --overlap).
    #[arg(long)]
    pub replace_policy_keys: bool,
    /// Take this policy key (public key file or key id) out of the policy role; repeatable.
    /// Naming a key still in its overlap ends the overlap now (a compromised key).
    #[arg(long = "remove-policy-key", value_name = "FILE.pub|KEYID")]
    pub remove_policy_keys: Vec<String>,
    /// Keep bundles signed by the policy keys taken out valid for this long (e.g. 30d) or
    /// until this date, so bundles in the field can be re-signed [default: no overlap].
    #[arg(long, value_name = "DURATION|DATE")]
    pub overlap: Option<String>,
    /// Drop the records of policy keys retired by earlier versions whose overlap is over
    /// (devices then no longer name them when refusing a bundle they signed).
    #[arg(long)]
    pub forget_retired: bool,
    #[command(flatten)]
    pub signing: RootSigning,
    /// Where to write version N+1 (`-` for standard output); never the --from file.
    #[arg(short, long, alias = "out")]
    pub output: PathBuf,
}

/// `mandate trust sign`.
#[derive(Debug, Args)]
pub struct TrustSignArgs {
    /// The (partly signed) trust root.
    pub file: PathBuf,
    /// The root key to sign with: a secret key file, or `ssh-agent:SHA256:<fingerprint>` /
    /// `ssh-agent:FILE.pub`.
    #[arg(long, value_name = "KEY")]
    pub key: String,
    /// For a rotation: the version it replaces, whose root keys must sign too.
    #[arg(long, value_name = "trust.toml")]
    pub previous: Option<PathBuf>,
    /// Where to write the result (`-` for standard output) [default: FILE itself].
    #[arg(short, long, alias = "out")]
    pub output: Option<PathBuf>,
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
    /// A policy key to sign with: a secret key file, or `ssh-agent:SHA256:<fingerprint>` /
    /// `ssh-agent:FILE.pub`; repeat to reach the threshold.
    #[arg(long = "key", value_name = "KEY", required = true)]
    pub keys: Vec<String>,
    /// The policy document (with a [policy] header); not with --add.
    #[arg(required_unless_present = "add")]
    pub policy: Option<PathBuf>,
    /// Add the --key signatures to this existing bundle instead (signing in turn).
    #[arg(long, value_name = "BUNDLE", conflicts_with_all = ["policy", "channel", "expires"])]
    pub add: Option<PathBuf>,
    /// The trust root the bundle is for: refuse keys that are not its policy keys and say how
    /// many of how many have signed.
    #[arg(long, value_name = "trust.toml")]
    pub trust: Option<PathBuf>,
    /// Sign for this channel (system, cloud or mdm), overriding the header's `channel`.
    #[arg(long)]
    pub channel: Option<String>,
    /// Set the header's `expires`: a duration from now such as 90d, 12mo or 1y, a date
    /// (2027-12-31) or a date-time
    /// [default: the header's].
    #[arg(long, value_name = "DURATION|DATE")]
    pub expires: Option<String>,
    /// Where to write the bundle (`-` for standard output) [with --add: the bundle itself].
    #[arg(short, long, alias = "out", required_unless_present = "add")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub schema: crate::SchemaOption,
}

/// `mandate verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The trust root to verify against (with --machine: instead of the machine's own).
    #[arg(long, value_name = "trust.toml", required_unless_present = "machine")]
    pub trust: Option<PathBuf>,
    /// Would this machine (`/`, or --root DIR) accept the file, with its own
    /// trust root and rollback state? Takes a bundle, a policy file, a managed
    /// preferences plist or a profile; writes nothing.
    #[arg(long)]
    pub machine: bool,
    /// The source the bundle is meant for: system, cloud, mdm or mdm-user (default: its header's channel).
    #[arg(long)]
    pub source: Option<String>,
    /// The bundle.
    pub bundle: PathBuf,
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
}

fn secret_key(path: &Path) -> Result<SecretKey, CliError> {
    SecretKey::read(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
}

fn sign_error(e: SignError) -> CliError {
    let error = CliError::usage(e.to_string());
    match e {
        SignError::NoAgent | SignError::NotInAgent { .. } => error.hint(
            "list the agent's keys with `ssh-add -l`; name one as ssh-agent:SHA256:<fingerprint>",
        ),
        _ => error,
    }
}

/// A signer named on the command line: a secret key file, or an ssh-agent key.
pub fn signer(spec: &str) -> Result<Box<dyn Signer>, CliError> {
    if let Some(rest) = spec.strip_prefix(AGENT_PREFIX) {
        let selector = AgentSelector::parse(rest).map_err(sign_error)?;
        let agent = SshAgent::from_env().map_err(sign_error)?;
        return Ok(Box::new(agent.find(&selector).map_err(sign_error)?));
    }
    let path = Path::new(spec);
    // A public key names a key held elsewhere: an OpenSSH key is looked up in
    // the agent; a mandate public key is a mistake for its secret half.
    if let Ok(head) = std::fs::read(path).map(|b| b.into_iter().take(64).collect::<Vec<u8>>()) {
        if is_openssh_public(&head) {
            let selector = AgentSelector::parse(spec).map_err(sign_error)?;
            let agent = SshAgent::from_env().map_err(sign_error)?;
            return Ok(Box::new(agent.find(&selector).map_err(sign_error)?));
        }
        let text = String::from_utf8_lossy(&head);
        if text.starts_with("# mandate key ") || text.starts_with(keys::PUBLIC_KEY_TAG) {
            let secret = spec.strip_suffix(".pub").map(|s| format!("{s}.key"));
            return Err(CliError::usage(format!(
                "{spec} is a public key: signing needs the secret key"
            ))
            .hint(match secret {
                Some(secret) => {
                    format!("sign with {secret}, or ssh-agent:… for a key held by ssh-agent")
                }
                None => "give the secret key file, or ssh-agent:… for a key held by ssh-agent"
                    .to_owned(),
            }));
        }
    }
    Ok(Box::new(secret_key(path)?))
}

/// The signers named by `--key`; one key named twice (two files, a file
/// and ssh-agent) is refused, as devices would count it once.
fn signers(specs: &[String]) -> Result<Vec<Box<dyn Signer>>, CliError> {
    let signers = specs
        .iter()
        .map(|s| signer(s))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&dyn Signer> = signers.iter().map(AsRef::as_ref).collect();
    mandate::trust::signer::distinct(&refs).map_err(sign_error)?;
    Ok(signers)
}

/// A public key with the name people know it by.
struct NamedKey {
    key: PublicKey,
    name: Option<String>,
}

/// Reads a mandate `.pub` file or an OpenSSH ed25519 public key; the name
/// is the OpenSSH comment, else the file name without `.pub`.
fn named_key(path: &Path) -> Result<NamedKey, CliError> {
    let text = read(path)?;
    let stem = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| n.strip_suffix(".pub").unwrap_or(n).to_owned());
    if is_openssh_public(&text) {
        let origin = path.display().to_string();
        let parsed =
            parse_openssh_public(&String::from_utf8_lossy(&text), &origin).map_err(sign_error)?;
        let name = Some(parsed.comment).filter(|c| !c.is_empty()).or(stem);
        return Ok(NamedKey {
            key: parsed.key,
            name,
        });
    }
    let key =
        PublicKey::read(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    Ok(NamedKey { key, name: stem })
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

/// A point in time on the command line: a date-time, a date (midnight UTC)
/// or a duration from now (`90d`, `12mo`, `1y`); whole seconds.
fn instant(flag: &str, text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, CliError> {
    let date = time::macros::format_description!("[year]-[month]-[day]");
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| time::Date::parse(text, &date).map(|d| d.midnight().assume_utc()))
        .map(|t| t.replace_nanosecond(0).unwrap_or(t))
        .or_else(|_| parse_duration(text).map(|d| (now + d).replace_nanosecond(0).unwrap_or(now + d)))
        .map_err(|_| CliError::usage(format!("{flag} {text}: give a date-time such as 2027-12-31T00:00:00Z, a date such as 2027-12-31, or a duration such as 90d, 12mo or 1y")))
}

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
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
                .map(|p| named_key(p))
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
            for named in load(flags)? {
                if let Some(name) = &named.name
                    && base.is_none_or(|r| r.key_name(named.key.id()).is_none())
                {
                    b = b.key_name(named.key.id(), name.clone());
                }
                if !keys.iter().any(|k| k.id() == named.key.id()) {
                    keys.push(named.key);
                }
            }
            let mut threshold = threshold;
            if role == RoleName::Root && base.is_none() && threshold.is_none() && keys.len() > 1 {
                threshold = Some(ask_root_threshold(keys.len())?);
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
            b = b.expires(instant("--expires", e, now)?);
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

/// How many of `count` root keys must sign: asked on a terminal, refused
/// otherwise (a threshold is a decision, never a silent default).
fn ask_root_threshold(count: usize) -> Result<u32, CliError> {
    let majority = count / 2 + 1;
    let refuse = || {
        CliError::usage(format!(
            "{count} root keys and no --root-threshold: say how many of them must sign a trust root"
        ))
        .hint(format!(
            "add --root-threshold {majority} (a majority), or --root-threshold 1 if any one of them may sign alone"
        ))
    };
    let answer = output::ask(&format!(
        "{count} root keys: how many must sign each trust root (1-{count})? [{majority}] "
    ))
    .ok_or_else(refuse)?;
    let answer = answer.trim();
    if answer.is_empty() {
        return u32::try_from(majority).map_err(|_| refuse());
    }
    answer
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=count).contains(&(*n as usize)))
        .ok_or_else(|| CliError::usage(format!("`{answer}` is not a number from 1 to {count}")))
}

/// `mandate keys generate`.
pub fn keys(globals: &Globals, cmd: &KeysCommand) -> Result<ExitCode, CliError> {
    let KeysCommand::Generate { out } = cmd;
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        CliError::usage("--output NAME: give a file name prefix such as keys/root-1")
    })?;
    std::fs::create_dir_all(dir).map_err(|e| CliError::usage(format!("{}: {e}", dir.display())))?;
    let (secret, public) = keys::generate().map_err(|e| CliError::usage(e.to_string()))?;
    let paths =
        keys::write_key_pair(dir, name, &secret).map_err(|e| CliError::usage(e.to_string()))?;
    if globals.json {
        output::json(&serde_json::json!({
            "key_id": public.id().as_str(),
            "secret": paths.secret,
            "public": paths.public,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    output::out(&format!(
        "key id {}\nsecret {} (mode 0600: keep it offline)\npublic {}",
        public.id(),
        paths.secret.display(),
        paths.public.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// Signs a built body with the --sign keys and writes it, refusing a root
/// that falls short of its thresholds unless --partial/--unsigned says so.
fn sign_and_write(
    body: &str,
    signing: &RootSigning,
    previous: Option<&TrustRoot>,
    output: &Path,
    existing: output::Existing,
) -> Result<(Vec<u8>, RootSignatures, String), CliError> {
    if signing.sign.is_empty() && !signing.unsigned {
        return Err(CliError::usage("no root key to sign with")
            .hint("give --sign KEY (repeat up to the root threshold), or --unsigned to have root key holders sign in turn with `mandate trust sign`"));
    }
    let keys = signers(&signing.sign)?;
    let refs: Vec<&dyn Signer> = keys.iter().map(AsRef::as_ref).collect();
    let file = TrustRoot::sign_with(body, &refs).map_err(|e| CliError::usage(e.to_string()))?;
    let status =
        TrustRoot::signatures(&file, previous).map_err(|e| CliError::usage(e.to_string()))?;
    if !status.is_complete() && !signing.partial && !signing.unsigned {
        return Err(CliError::usage(format!(
            "the trust root would not verify yet:\n{}",
            signature_lines(&status)
        ))
        .hint("sign with more root keys, or pass --partial to write it now and collect the rest with `mandate trust sign FILE --key KEY`"));
    }
    let written = output::write_file(output, &file, existing)?;
    Ok((file, status, written))
}

/// `k of n` lines for each set of root keys, naming who has not signed.
fn signature_lines(status: &RootSignatures) -> String {
    let mut lines = Vec::new();
    let mut role = |label: &str, r: &RoleSignatures| {
        let name = |(id, name): &(keys::KeyId, Option<String>)| match name {
            Some(n) => format!("{id} ({n})"),
            None => id.to_string(),
        };
        let signed: Vec<String> = r
            .keys
            .iter()
            .filter(|(id, _)| r.signed.contains(id))
            .map(name)
            .collect();
        let missing: Vec<String> = r.missing().into_iter().map(name).collect();
        let state = if r.is_met() { "met" } else { "NOT met" };
        lines.push(format!(
            "  {label} (version {}): {} of {} required signatures, {state}; signed: {}; not yet: {}",
            r.version,
            r.signed.len(),
            r.threshold,
            if signed.is_empty() { "none".to_owned() } else { signed.join(", ") },
            if missing.is_empty() { "none".to_owned() } else { missing.join(", ") }
        ));
    };
    if let Some(previous) = &status.previous {
        role("previous root keys", previous);
    }
    role("root keys", &status.own);
    lines.push(format!(
        "  body {} (signers: check it matches what you were sent)",
        status.body_sha256
    ));
    lines.join("\n")
}

/// What a rotation does to bundles already in the field.
fn field_report(base: &TrustRoot, next: &TrustRootBuilder) -> Vec<String> {
    let mut lines = Vec::new();
    let version = next.current_version();
    let now_keys: Vec<&keys::KeyId> = next
        .current_policy_keys()
        .iter()
        .map(PublicKey::id)
        .collect();
    for key in base.role_keys(RoleName::Policy) {
        if now_keys.contains(&key.id()) {
            continue;
        }
        let name = base.describe_key(key.id());
        match next.current_retired().find(|r| &r.key == key.id()).and_then(|r| r.until) {
            Some(until) => lines.push(format!(
                "policy key {name} is retired with an overlap until {}: bundles it signed stay valid on devices with version {version} until then. Re-sign every bundle with a current policy key (or with both keys) and publish it before then; after it, devices refuse them with \"policy key {name} was removed by trust root version {version}\"",
                rfc3339(until)
            )),
            None => lines.push(format!(
                "policy key {name} is removed with no overlap: devices that install version {version} refuse every bundle signed only by it at once (\"policy key {name} was removed by trust root version {version}\") and hold those sources at their lockdown values. Unless the key is compromised, re-sign and publish the bundles first, or rotate with --overlap 30d"
            )),
        }
    }
    for retired in base.retired_policy_keys() {
        if retired.valid_at(OffsetDateTime::now_utc())
            && next
                .current_retired()
                .any(|r| r.key == retired.key && r.until.is_none())
        {
            lines.push(format!(
                "the overlap of retired policy key {} ends now: devices with version {version} refuse bundles signed only by it",
                base.describe_key(&retired.key)
            ));
        }
    }
    let base_ids: Vec<&keys::KeyId> = base.role(RoleName::Policy).keys.iter().collect();
    for key in next.current_policy_keys() {
        if !base_ids.contains(&key.id()) {
            let name = next
                .current_key_name(key.id())
                .map_or(key.id().to_string(), |n| format!("{} ({n})", key.id()));
            lines.push(format!(
                "policy key {name} is new: its signatures count only on devices that have version {version}; until every device has it, sign bundles with an old key too"
            ));
        }
    }
    if lines.is_empty() {
        lines.push("policy keys unchanged: bundles in the field stay valid".to_owned());
    }
    lines
}

/// `mandate trust …`.
pub fn trust(globals: &Globals, cmd: &TrustCommand) -> Result<ExitCode, CliError> {
    let now = OffsetDateTime::now_utc();
    match cmd {
        TrustCommand::Init(args) => {
            let default_expiry = (now + time::Duration::days(365))
                .replace_nanosecond(0)
                .unwrap_or(now + time::Duration::days(365));
            if !output::is_stdout(&args.output) && std::fs::symlink_metadata(&args.output).is_ok() {
                return Err(CliError::usage(format!(
                    "{} already exists; trust init never overwrites a trust root",
                    args.output.display()
                ))
                .hint(format!(
                    "to change the trust root in force, build the next version: `mandate trust rotate --from {} -o NEW`",
                    args.output.display()
                ))
                .hint("to start a new one, write it elsewhere with -o, or move the old one away first"));
            }
            if args.content.root_keys.is_empty() {
                return Err(CliError::usage(
                    "trust init needs --root-key FILE.pub: the keys that sign the trust root itself (repeat for several)",
                )
                .hint("make one with `mandate keys generate --output keys/root-1`"));
            }
            if args.content.policy_keys.is_empty() {
                return Err(CliError::usage(
                    "trust init needs --policy-key FILE.pub: the keys that sign policy bundles (repeat for several)",
                )
                .hint("make one with `mandate keys generate --output keys/policy-1`"));
            }
            let builder = TrustRootBuilder::new(args.org.clone(), default_expiry);
            let builder = args.content.apply(builder, None, true, true, now)?;
            let body = builder.body().map_err(|e| CliError::usage(e.to_string()))?;
            let (file, status, written) = sign_and_write(
                &body,
                &args.signing,
                None,
                &args.output,
                output::Existing::Refuse,
            )?;
            let text = if status.is_complete() {
                let root = TrustRoot::verify_self(&file, now).map_err(|e| {
                    CliError::usage(format!("the trust root would not verify: {e}"))
                })?;
                format!("wrote {written}\n{}", describe(&root))
            } else {
                format!(
                    "wrote {written}: version 1, NOT yet valid\n{}\nnext: each remaining root key holder runs `mandate trust sign {} --key KEY`",
                    signature_lines(&status),
                    args.output.display()
                )
            };
            output::report(&args.output, &text);
            Ok(ExitCode::SUCCESS)
        }
        TrustCommand::Rotate(args) => rotate(args, now),
        TrustCommand::Sign(args) => {
            let bytes = read(&args.file)?;
            let previous = match &args.previous {
                Some(p) => Some(installed_root(p)?),
                None => None,
            };
            let key = signer(&args.key)?;
            let file = TrustRoot::add_signature(&bytes, key.as_ref(), previous.as_ref()).map_err(|e| {
                let error = CliError::no(format!("{}: {e}", args.file.display()));
                match e {
                    TrustRootError::NotARootKey { previous: None, .. } => error.hint(
                        "for a rotation signed by a key of the previous version, pass --previous OLD.toml",
                    ),
                    _ => error,
                }
            })?;
            let status = TrustRoot::signatures(&file, previous.as_ref())
                .map_err(|e| CliError::usage(e.to_string()))?;
            let target = args.output.as_deref().unwrap_or(&args.file);
            let written = output::write_file(target, &file, output::Existing::Replace)?;
            output::report(
                target,
                &format!(
                    "signed {written} with {}\n{}\n{}",
                    key.label(),
                    signature_lines(&status),
                    if status.is_complete() {
                        "every threshold is met: the trust root verifies"
                    } else {
                        "more signatures are needed before devices accept it"
                    }
                ),
            );
            Ok(ExitCode::SUCCESS)
        }
        TrustCommand::Verify(args) => {
            let bytes = read(&args.file)?;
            let previous = match &args.previous {
                Some(p) => Some(installed_root(p)?),
                None => None,
            };
            let result = match &previous {
                None => TrustRoot::verify_self(&bytes, now),
                Some(p) => p
                    .verify_rotation(&bytes)
                    .and_then(|r| r.check_not_expired(now).map(|()| r)),
            };
            let status = TrustRoot::signatures(&bytes, previous.as_ref()).ok();
            if globals.json {
                let mut value = serde_json::json!({
                    "file": args.file,
                    "verified": result.is_ok(),
                    "signatures": status.as_ref().map(|s| signature_lines(s).lines().map(|l| l.trim().to_owned()).collect::<Vec<_>>()),
                    "complete": status.as_ref().map(RootSignatures::is_complete),
                });
                match &result {
                    Ok(root) => {
                        value["version"] = root.version().into();
                        value["org"] = root.org().into();
                        value["expires"] = rfc3339(root.expires()).into();
                    }
                    Err(e) => value["reason"] = e.to_string().into(),
                }
                output::json(&value)?;
                return Ok(if result.is_ok() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(EXIT_NO)
                });
            }
            match result {
                Ok(root) => {
                    output::out(&format!(
                        "{}: verified\n{}",
                        args.file.display(),
                        describe(&root)
                    ));
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    let mut error = CliError::no(format!("{}: {e}", args.file.display()));
                    if let Some(status) = status.filter(|s| !s.is_complete()) {
                        output::out(&format!(
                            "{}: not yet signed by enough root keys\n{}",
                            args.file.display(),
                            signature_lines(&status)
                        ));
                        error = error.hint(format!(
                            "each missing key holder runs `mandate trust sign {} --key KEY`{}",
                            args.file.display(),
                            if args.previous.is_some() {
                                " --previous OLD.toml"
                            } else {
                                ""
                            }
                        ));
                    }
                    Err(error)
                }
            }
        }
    }
}

/// A trust root already in force (its expiry is not held against it).
fn installed_root(path: &Path) -> Result<TrustRoot, CliError> {
    TrustRoot::verify_self(&read(path)?, OffsetDateTime::UNIX_EPOCH)
        .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `mandate trust rotate`.
fn rotate(args: &RotateArgs, now: OffsetDateTime) -> Result<ExitCode, CliError> {
    if same_file(&args.output, &args.from) {
        return Err(CliError::usage(format!(
            "-o {} is the --from file: version N stays where it is, and devices need it to verify version N+1",
            args.output.display()
        ))
        .hint("write the new version to another file, e.g. -o trust-v2.toml"));
    }
    let current = installed_root(&args.from)?;
    let builder = TrustRootBuilder::next_version(&current);
    let mut builder = args.content.apply(
        builder,
        Some(&current),
        args.replace_root_keys,
        args.replace_policy_keys,
        now,
    )?;
    let next_version = builder.current_version();
    let until = match &args.overlap {
        Some(text) => Some(instant("--overlap", text, now)?),
        None => None,
    };
    // Policy keys named by --remove-policy-key leave the role.
    let mut policy: Vec<PublicKey> = builder.current_policy_keys().to_vec();
    let mut revoked = Vec::new();
    for spec in &args.remove_policy_keys {
        let id = match keys::KeyId::parse(spec) {
            Ok(id) => id,
            Err(_) => named_key(Path::new(spec))?.key.id().clone(),
        };
        let in_role = policy.iter().any(|k| k.id() == &id);
        let retired = current.retired_policy_key(&id).is_some();
        if !in_role && !retired {
            return Err(CliError::usage(format!(
                "--remove-policy-key {spec}: key {id} is not a policy key of {} (version {})",
                args.from.display(),
                current.version()
            )));
        }
        policy.retain(|k| k.id() != &id);
        if retired {
            revoked.push(id);
        }
    }
    let threshold = builder_threshold(&args.content, &current);
    builder = builder.policy_keys(policy.clone(), threshold);
    // Keys that left the policy role are retired (valid until the overlap ends).
    for key in current.role_keys(RoleName::Policy) {
        if !policy.iter().any(|k| k.id() == key.id()) {
            builder = builder.retire_policy_key(key.clone(), next_version, until);
        }
    }
    // A retired key named again ends its overlap now; one re-listed as a policy key is reinstated.
    for id in revoked {
        if let (Some(record), Some(key)) =
            (current.retired_policy_key(&id), current.keys().get(&id))
        {
            builder = builder.retire_policy_key(key.clone(), record.version, None);
        }
    }
    for key in &policy {
        builder = builder.forget_retired(key.id());
    }
    if args.forget_retired {
        let over: Vec<keys::KeyId> = builder
            .current_retired()
            .filter(|r| r.version < next_version && !r.valid_at(now))
            .map(|r| r.key.clone())
            .collect();
        for id in over {
            builder = builder.forget_retired(&id);
        }
    }
    let body = builder.body().map_err(|e| CliError::usage(e.to_string()))?;
    let (file, status, written) = sign_and_write(
        &body,
        &args.signing,
        Some(&current),
        &args.output,
        output::Existing::Replace,
    )?;
    let report = field_report(&current, &builder)
        .into_iter()
        .map(|l| format!("  - {l}"))
        .collect::<Vec<_>>()
        .join("\n");
    let text = if status.is_complete() {
        let next = current.verify_rotation(&file).map_err(|e| {
            CliError::usage(format!("version {next_version} would not be accepted: {e}")).hint(
                "a rotation must be signed by a threshold of the current root keys and a threshold of the new ones",
            )
        })?;
        format!(
            "wrote {written} (version {} → {})\n{}\nbundles in the field:\n{report}",
            current.version(),
            next.version(),
            describe(&next)
        )
    } else {
        format!(
            "wrote {written} (version {} → {next_version}), NOT yet valid\n{}\nnext: each remaining root key holder runs `mandate trust sign {} --previous {} --key KEY`\nbundles in the field, once it is installed:\n{report}",
            current.version(),
            signature_lines(&status),
            args.output.display(),
            args.from.display()
        )
    };
    output::report(&args.output, &text);
    Ok(ExitCode::SUCCESS)
}

fn builder_threshold(content: &RootContent, current: &TrustRoot) -> u32 {
    content
        .policy_threshold
        .unwrap_or(current.role(RoleName::Policy).threshold)
}

fn describe(root: &TrustRoot) -> String {
    let role = |r: RoleName| {
        let role = root.role(r);
        let ids: Vec<String> = role.keys.iter().map(|id| root.describe_key(id)).collect();
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
    let signers: Vec<String> = root
        .signers()
        .iter()
        .map(|id| root.describe_key(id))
        .collect();
    let retired: Vec<String> = root
        .retired_policy_keys()
        .iter()
        .map(|r| {
            format!(
                "{} (removed by version {}, {})",
                root.describe_key(&r.key),
                r.version,
                r.until.map_or("no overlap".to_owned(), |u| format!(
                    "valid until {}",
                    rfc3339(u)
                ))
            )
        })
        .collect();
    format!(
        "  org {}\n  version {}, expires {}\n  root keys {}\n  policy keys {}{}\n  precedence {}{}\n  must be signed: {}\n  offline grace {}\n  cloud {}\n  signed by {}",
        root.org(),
        root.version(),
        rfc3339(root.expires()),
        role(RoleName::Root),
        role(RoleName::Policy),
        if retired.is_empty() {
            String::new()
        } else {
            format!("\n  retired policy keys {}", retired.join(", "))
        },
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

/// The header fields a signed policy must carry, in the order people write them.
const SIGNED_FIELDS: [&str; 6] = ["org", "channel", "id", "version", "issued_at", "expires"];

/// The payload to sign: the policy bytes, with `channel` set by --channel
/// and `issued_at` filled in when absent. Every missing field is reported
/// at once. Returns the payload and notes on what was changed.
fn prepare_payload(
    origin: &str,
    bytes: &[u8],
    channel: Option<&str>,
    expires: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(Vec<u8>, Vec<String>), CliError> {
    let text = mandate::loader::utf8(origin, bytes).map_err(CliError::invalid)?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| CliError::no(format!("{origin}: {e}")))?;
    let complete_hint = "a signed policy names org, channel, id, version, issued_at and expires in [policy]; `sign` fills issued_at, and --channel sets channel";
    let Some(policy) = doc.get_mut("policy").and_then(|p| p.as_table_like_mut()) else {
        return Err(
            CliError::no(format!("{origin}: a bundle needs a [policy] header")).hint(complete_hint),
        );
    };
    let mut notes = Vec::new();
    let mut changed = false;
    if let Some(channel) = channel {
        if Channel::from_name(channel).is_none() {
            return Err(CliError::usage(format!(
                "--channel {channel}: use system, cloud or mdm"
            )));
        }
        let old = policy
            .get("channel")
            .and_then(|c| c.as_str())
            .map(str::to_owned);
        if old.as_deref() != Some(channel) {
            policy.insert("channel", toml_edit::value(channel));
            changed = true;
            notes.push(match old {
                Some(old) => format!("channel {channel} (--channel; the file says {old})"),
                None => format!("channel {channel} (--channel)"),
            });
        }
    }
    let datetime = |at: OffsetDateTime| -> Result<(toml_edit::Datetime, String), CliError> {
        let stamp = rfc3339(at.replace_nanosecond(0).unwrap_or(at));
        let value = stamp
            .parse()
            .map_err(|e| CliError::usage(format!("{stamp}: {e}")))?;
        Ok((value, stamp))
    };
    if policy.get("issued_at").is_none() {
        let (value, stamp) = datetime(now)?;
        policy.insert("issued_at", toml_edit::value(value));
        changed = true;
        notes.push(format!("issued_at {stamp} (now)"));
    }
    if let Some(at) = expires {
        let (value, stamp) = datetime(at)?;
        policy.insert("expires", toml_edit::value(value));
        changed = true;
        notes.push(format!("expires {stamp} (--expires)"));
    }
    let missing: Vec<&str> = SIGNED_FIELDS
        .iter()
        .copied()
        .filter(|f| policy.get(f).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(
            CliError::no(format!("{origin}: [policy] lacks {}", missing.join(", ")))
                .hint(complete_hint),
        );
    }
    let payload = if changed {
        doc.to_string().into_bytes()
    } else {
        bytes.to_vec()
    };
    Ok((payload, notes))
}

/// Warnings for a policy whose own `[settings]` break its own `[requirements]`.
pub fn self_conflicts(schema: &Schema, origin: &str, text: &str) -> Vec<String> {
    let Ok(layer) = Layer::parse_policy(schema, SourceKind::System, origin, text) else {
        return Vec::new();
    };
    let effective = mandate::resolve(schema, vec![layer]);
    let mut warnings = Vec::new();
    for (key, value) in &effective.keys {
        for refused in &value.rejected {
            if refused.source == SourceKind::System.name() {
                warnings.push(format!(
                    "{origin}: [settings] {key} = {} breaks this policy's own [requirements]: {}",
                    refused.value, refused.reason
                ));
            }
        }
    }
    warnings
}

/// `mandate sign`.
pub fn sign(globals: &Globals, args: &SignArgs) -> Result<ExitCode, CliError> {
    let now = OffsetDateTime::now_utc();
    let root = match &args.trust {
        Some(path) => Some(
            TrustRoot::verify_self(&read(path)?, now)
                .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?,
        ),
        None => None,
    };
    let keys = signers(&args.keys)?;
    if let Some(root) = &root {
        for key in &keys {
            let id = key.public().id();
            let roles = root.roles_of(id);
            if !roles.contains(&RoleName::Policy) {
                let what = if let Some(r) = root.retired_policy_key(id) {
                    format!(
                        "was removed from the policy role by trust root version {}",
                        r.version
                    )
                } else if roles.is_empty() {
                    "is not listed in the trust root".to_owned()
                } else {
                    format!("is a {} key, not a policy key", roles[0])
                };
                return Err(CliError::usage(format!(
                    "{} {what} (trust root version {}); devices would not count its signature",
                    key.label(),
                    root.version()
                ))
                .hint("sign bundles with a key listed under [roles.policy]; root keys sign only trust roots"));
            }
        }
    }
    let (envelope, target, summary) = match &args.add {
        Some(bundle) => {
            let bytes = read(bundle)?;
            let mut envelope = Envelope::parse(&bytes)
                .map_err(|e| CliError::no(format!("{}: {e}", bundle.display())))?;
            if let Ok(Some(header)) = PolicyHeader::parse(envelope.unverified_payload()) {
                refuse_expired(&bundle.display().to_string(), header.expires, now)?;
            }
            for key in &keys {
                if !envelope
                    .add_signature_with(key.as_ref())
                    .map_err(sign_error)?
                {
                    return Err(CliError::no(format!(
                        "{}: {} has already signed this bundle",
                        bundle.display(),
                        key.label()
                    ))
                    .hint("the next signer adds theirs; nothing was written"));
                }
            }
            let target = args.output.clone().unwrap_or_else(|| bundle.clone());
            (envelope, target, String::new())
        }
        None => {
            let path = args
                .policy
                .as_deref()
                .ok_or_else(|| CliError::usage("give the policy file to sign"))?;
            let bytes = read(path)?;
            let origin = path.display().to_string();
            let expires = match &args.expires {
                Some(text) => Some(instant("--expires", text, now)?),
                None => None,
            };
            // Refused before `issued_at` is filled in, so the message is
            // about the expiry, not its order against the signing time.
            match expires {
                Some(at) => refuse_expired("--expires", Some(at), now)?,
                None => {
                    if let Ok(Some(header)) = PolicyHeader::parse(&bytes) {
                        refuse_expired(&origin, header.expires, now)?;
                    }
                }
            }
            let (payload, notes) =
                prepare_payload(&origin, &bytes, args.channel.as_deref(), expires, now)?;
            let header = PolicyHeader::parse(&payload)
                .map_err(|e| CliError::no(format!("{origin}: {e}")))?
                .ok_or_else(|| CliError::no(format!("{origin}: a bundle needs a [policy] header")))?
                .require_signed_fields()
                .map_err(|e| CliError::no(format!("{origin}: {e}")))?;
            refuse_expired(&origin, Some(header.expires), now)?;
            if let Some(root) = &root
                && header.org != root.org()
            {
                return Err(CliError::no(format!(
                    "{origin}: [policy] org is `{}` but the trust root is for `{}`; devices would refuse the bundle",
                    header.org,
                    root.org()
                )));
            }
            let text = String::from_utf8_lossy(&payload).into_owned();
            let resolver = mandate::Resolver::with_schema_file(globals.options())?;
            let schema: &Schema = resolver.schema();
            Layer::parse_policy(schema, SourceKind::System, &origin, &text)
                .map_err(CliError::invalid)?;
            for warning in self_conflicts(schema, &origin, &text) {
                output::error(&format!("warning: {warning}"));
            }
            let target = args
                .output
                .clone()
                .ok_or_else(|| CliError::usage("give -o FILE.bundle"))?;
            check_previous(&target, &header, &payload)?;
            let refs: Vec<&dyn Signer> = keys.iter().map(AsRef::as_ref).collect();
            let envelope =
                Envelope::sign_with(POLICY_PAYLOAD_TYPE, &payload, &refs).map_err(sign_error)?;
            let summary = format!(
                ": {} v{} for {} / {}{}",
                header.id,
                header.version,
                header.org,
                header.channel.name(),
                if notes.is_empty() {
                    String::new()
                } else {
                    format!(" (set at signing: {})", notes.join(", "))
                }
            );
            (envelope, target, summary)
        }
    };
    let json = envelope.to_json();
    // Devices refuse a bundle over the managed file cap: never write one.
    let cap = mandate::fsafe::MAX_MANAGED_SIZE;
    if json.len() as u64 > cap {
        return Err(CliError::no(format!(
            "the bundle would be {} bytes, more than the {cap}-byte ({} MiB) limit for managed files that every device enforces; nothing was written",
            json.len(),
            cap >> 20
        ))
        .hint("split the policy into several documents and sign each (files in policy.d/ all apply)"));
    }
    let written = output::write_file(&target, &json, output::Existing::Replace)?;
    if globals.json && !output::is_stdout(&target) {
        let header = PolicyHeader::parse(envelope.unverified_payload())
            .ok()
            .flatten();
        let signed = match &root {
            Some(root) => envelope
                .signers_among(&root.policy_keys_at(now))
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect::<Vec<_>>(),
            None => keys
                .iter()
                .map(|k| k.public().id().as_str().to_owned())
                .collect(),
        };
        output::json(&serde_json::json!({
            "file": target,
            "id": header.as_ref().map(|h| h.id.clone()),
            "version": header.as_ref().map(|h| h.version),
            "org": header.as_ref().and_then(|h| h.org.clone()),
            "channel": header.as_ref().and_then(|h| h.channel).map(Channel::name),
            "issued_at": header.as_ref().and_then(|h| h.issued_at).map(rfc3339),
            "expires": header.as_ref().and_then(|h| h.expires).map(rfc3339),
            "payload_sha256": mandate::trust::Sha256::of(envelope.unverified_payload()).to_hex(),
            "file_sha256": mandate::trust::Sha256::of(&json).to_hex(),
            "signers": signed,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let labels: Vec<String> = keys.iter().map(|k| k.label()).collect();
    let mut text = format!("wrote {written}{summary} signed by {}", labels.join(", "));
    if let Some(root) = &root {
        text.push('\n');
        text.push_str(&policy_signature_line(&envelope, root, now));
    }
    output::report(&target, &text);
    Ok(ExitCode::SUCCESS)
}

/// Devices refuse a policy whose `expires` has passed (past a grace, and
/// never as a new version): never sign one.
fn refuse_expired(
    origin: &str,
    expires: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(), CliError> {
    match expires {
        Some(expires) if expires <= now => Err(CliError::no(format!(
            "{origin}: [policy] expires = {} is in the past; devices refuse an expired policy, so nothing was signed",
            expires
                .format(&Rfc3339)
                .unwrap_or_default()
        ))
        .hint("set a later `expires` in [policy], or give --expires 90d")),
        _ => Ok(()),
    }
}

/// The version of a policy must go up: when the output path already holds a
/// bundle of the same id and channel, a lower version, or the same version
/// with other content, is refused (devices that have it would refuse the new
/// one as a rollback).
fn check_previous(
    target: &Path,
    header: &mandate::trust::header::SignedHeader,
    payload: &[u8],
) -> Result<(), CliError> {
    if output::is_stdout(target) {
        return Ok(());
    }
    let Ok(bytes) = std::fs::read(target) else {
        return Ok(());
    };
    let Ok(envelope) = Envelope::parse(&bytes) else {
        return Ok(());
    };
    let Ok(Some(old)) = PolicyHeader::parse(envelope.unverified_payload()) else {
        return Ok(());
    };
    if old.id != header.id || old.channel != Some(header.channel) {
        return Ok(());
    }
    let shown = target.display();
    if old.version > header.version {
        return Err(CliError::no(format!(
            "{shown} holds {} v{}; v{} is older, and devices that have v{} refuse it as a rollback",
            header.id, old.version, header.version, old.version
        ))
        .hint(format!(
            "set version = {} or more in [policy]",
            old.version + 1
        )));
    }
    if old.version == header.version && envelope.unverified_payload() != payload {
        return Err(CliError::no(format!(
            "{shown} holds {} v{} with other content; devices that have it refuse the same version with other bytes",
            header.id, old.version
        ))
        .hint(format!(
            "set version = {} in [policy], or move {shown} away if that version was never published",
            old.version + 1
        )));
    }
    Ok(())
}

/// `policy keys: k of n …; not yet: …` for a bundle under a trust root.
fn policy_signature_line(envelope: &Envelope, root: &TrustRoot, now: OffsetDateTime) -> String {
    let policy = root.role(RoleName::Policy);
    let keys = root.policy_keys_at(now);
    let signed = envelope.signers_among(&keys);
    let missing: Vec<String> = policy
        .keys
        .iter()
        .filter(|id| !signed.contains(id))
        .map(|id| root.describe_key(id))
        .collect();
    let names: Vec<String> = signed.iter().map(|id| root.describe_key(id)).collect();
    format!(
        "  policy keys of trust root version {}: {} of {} required signatures, {}; signed: {}; not yet: {}",
        root.version(),
        signed.len(),
        policy.threshold,
        if signed.len() >= policy.threshold as usize {
            "met"
        } else {
            "NOT met: add more with `mandate sign --add BUNDLE --key KEY`"
        },
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        },
        if missing.is_empty() {
            "none".to_owned()
        } else {
            missing.join(", ")
        }
    )
}

/// `mandate verify`.
pub fn verify(globals: &Globals, args: &VerifyArgs) -> Result<ExitCode, CliError> {
    if args.machine {
        let given = match &args.source {
            Some(name) => Some(sources(std::slice::from_ref(name))?[0]),
            None => None,
        };
        return super::staged::verify_machine(globals, &args.bundle, given, args.trust.as_deref());
    }
    let now = OffsetDateTime::now_utc();
    let trust = args
        .trust
        .as_deref()
        .ok_or_else(|| CliError::usage("give --trust trust.toml, or --machine"))?;
    let root = TrustRoot::verify_self(&read(trust)?, now)
        .map_err(|e| CliError::no(format!("{}: {e}", trust.display())))?;
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
    if globals.json {
        let value = match &result {
            Ok(b) => serde_json::json!({
                "file": args.bundle,
                "verified": true,
                "bundle": super::staged::bundle_json(b),
                "trust_root_version": b.root_version,
            }),
            Err(e) => serde_json::json!({
                "file": args.bundle,
                "verified": false,
                "code": e.code(),
                "reason": e.to_string(),
                "trust_root_version": root.version(),
            }),
        };
        output::json(&value)?;
        return Ok(if result.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_NO)
        });
    }
    match result {
        Ok(b) => {
            let signers: Vec<String> = b.signers.iter().map(|id| root.describe_key(id)).collect();
            output::out(&format!(
                "{}: verified\n  {} v{} for {} / {}\n  issued {}, expires {} ({})\n  signed by {}\n  trust root version {}",
                args.bundle.display(),
                b.header.id,
                b.header.version,
                b.header.org,
                b.header.channel.name(),
                rfc3339(b.header.issued_at),
                rfc3339(b.header.expires),
                match b.expiry {
                    mandate::trust::Expiry::Fresh { .. } => "fresh".to_owned(),
                    mandate::trust::Expiry::InGrace { left, .. } => format!(
                        "expired, in offline grace for {}",
                        mandate::cloud::human_duration(left)
                    ),
                    mandate::trust::Expiry::PastGrace { .. } =>
                        "expired, past the offline grace: devices lock down".to_owned(),
                },
                signers.join(", "),
                b.root_version
            ));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let mut text = format!("{}: refused [{}]: {e}", args.bundle.display(), e.code());
            if let (mandate::trust::BundleError::Threshold { .. }, Ok(envelope)) =
                (&e, Envelope::parse(&bytes))
            {
                text.push('\n');
                text.push_str(&policy_signature_line(&envelope, &root, now));
            }
            output::out(&text);
            Ok(ExitCode::from(EXIT_NO))
        }
    }
}
