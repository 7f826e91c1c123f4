//! `mandate package …`: configuration profiles and Jamf schemas for MDM.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use mandate::mdm::{
    PlistFormat, PolicyInput, ProfileForm, ProfileOptions, Scope, build_mobileconfig,
    install_preview_as, jamf_schema, parse_profile,
};
use mandate::{Layer, Resolver, SourceKind};

use crate::{CliError, Globals, output};

/// `mandate package …`.
#[derive(Debug, Subcommand)]
pub enum PackageCommand {
    /// Build a .mobileconfig forcing the domain's keys, for upload to an MDM.
    Mobileconfig(MobileconfigArgs),
    /// Build the JSON schema Jamf Pro's "Application & Custom Settings" accepts.
    JamfSchema(JamfSchemaArgs),
    /// Write what macOS would write for a profile into --root DIR's Managed Preferences.
    InstallPreview(InstallPreviewArgs),
}

/// `PayloadScope`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScopeArg {
    /// Machine-wide: `/Library/Managed Preferences/<domain>.plist` (source `mdm`).
    #[value(name = "System", alias = "system")]
    System,
    /// Per user: `/Library/Managed Preferences/<user>/<domain>.plist` (source `mdm-user`).
    #[value(name = "User", alias = "user")]
    User,
}

/// The payload form.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormArg {
    /// A `com.apple.ManagedClient.preferences` payload (Forced keys).
    ManagedClient,
    /// A payload whose type is the domain itself, keys inline.
    CustomSettings,
}

/// `mandate package mobileconfig`.
#[derive(Debug, Args)]
pub struct MobileconfigArgs {
    /// The policy: a document (`.toml`) or a signed bundle (`.bundle`).
    pub policy: PathBuf,
    /// The profile's PayloadIdentifier, reverse-DNS (e.g. com.acme.mandate).
    #[arg(long)]
    pub identifier: String,
    /// PayloadOrganization.
    #[arg(long, default_value = "")]
    pub organization: String,
    /// PayloadDisplayName.
    #[arg(long, default_value = "mandate agent policy")]
    pub display_name: String,
    /// System (machine-wide) or User scope.
    #[arg(long, value_enum, default_value = "System")]
    pub scope: ScopeArg,
    /// Prevent users from removing the profile.
    #[arg(long)]
    pub removal_disallowed: bool,
    /// The payload form.
    #[arg(long, value_enum, default_value = "managed-client")]
    pub form: FormArg,
    /// Write the document's settings and requirements as native plist
    /// dictionaries (`Settings`, `Requirements`) instead of a `Policy` string.
    #[arg(long, conflicts_with = "trust_root")]
    pub native: bool,
    /// Also deliver this trust root (`TrustRoot` key).
    #[arg(long, value_name = "trust.toml")]
    pub trust_root: Option<PathBuf>,
    /// Earlier trust root versions (files, or a directory such as trust.d/) to deliver under
    /// `TrustRootChain`, so Macs pinned at an older version catch up; repeatable. They must
    /// chain to --trust-root.
    #[arg(long, value_name = "FILE|DIR", requires = "trust_root")]
    pub trust_chain: Vec<PathBuf>,
    /// Where to write the profile (`-` for standard output).
    #[arg(short, long, alias = "out")]
    pub output: PathBuf,
    #[command(flatten)]
    pub package: crate::PackageOptions,
}

/// `mandate package jamf-schema`.
#[derive(Debug, Args)]
pub struct JamfSchemaArgs {
    /// Where to write the schema (stdout when absent or `-`).
    #[arg(short, long, alias = "out")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub package: crate::PackageOptions,
}

/// `mandate package install-preview`.
#[derive(Debug, Args)]
pub struct InstallPreviewArgs {
    /// The profile.
    pub profile: PathBuf,
    /// Write XML plists instead of binary ones (macOS writes binary).
    #[arg(long)]
    pub xml: bool,
    #[command(flatten)]
    pub machine: crate::Machine,
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
}

/// Runs a `package` subcommand.
pub fn run(globals: &Globals, cmd: &PackageCommand) -> Result<ExitCode, CliError> {
    match cmd {
        PackageCommand::Mobileconfig(args) => mobileconfig(globals, args),
        PackageCommand::JamfSchema(args) => {
            let resolver = Resolver::with_schema_file(globals.options())?;
            let schema = jamf_schema(resolver.schema(), &globals.domain);
            let mut text = serde_json::to_string_pretty(&schema)
                .map_err(|e| CliError::usage(e.to_string()))?;
            text.push('\n');
            match &args.output {
                Some(path) if !output::is_stdout(path) => {
                    let written =
                        output::write_file(path, text.as_bytes(), output::Existing::Replace)?;
                    output::out(&format!("wrote {written}"));
                }
                _ => output::out(&text),
            }
            Ok(ExitCode::SUCCESS)
        }
        PackageCommand::InstallPreview(args) => {
            let Some(root) = &globals.root else {
                return Err(
                    CliError::usage("install-preview writes under --root DIR; give one").hint(
                        "mandate --root /tmp/mac package install-preview profile.mobileconfig",
                    ),
                );
            };
            let profile = parse_profile(&read(&args.profile)?)
                .map_err(|e| CliError::no(format!("{}: {e}", args.profile.display())))?;
            let format = if args.xml {
                PlistFormat::Xml
            } else {
                PlistFormat::Binary
            };
            let written = install_preview_as(&profile, root, globals.user.as_deref(), format)
                .map_err(|e| CliError::usage(format!("{}: {e}", args.profile.display())))?;
            if globals.json {
                output::json(&serde_json::json!({ "wrote": written }))?;
                return Ok(ExitCode::SUCCESS);
            }
            for path in &written {
                output::out(&format!("wrote {}", path.display()));
            }
            output::out(&format!(
                "inspect with: mandate --root {} --platform macos{} sources",
                root.display(),
                globals
                    .user
                    .as_deref()
                    .map(|u| format!(" --user {u}"))
                    .unwrap_or_default()
            ));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn mobileconfig(globals: &Globals, args: &MobileconfigArgs) -> Result<ExitCode, CliError> {
    let bytes = read(&args.policy)?;
    let origin = args.policy.display().to_string();
    let is_bundle =
        args.policy.extension().is_some_and(|e| e == "bundle") || bytes.first() == Some(&b'{');
    let input = if is_bundle {
        if args.native {
            return Err(CliError::usage(
                "--native needs a policy document: a signed bundle is delivered whole",
            ));
        }
        // A profile delivers through the mdm channel: a bundle signed for
        // another is refused on every device that installs it.
        mandate::trust::check_unverified_channel(&bytes, mandate::source::ManagedSource::Mdm)
            .map_err(|e| {
                CliError::no(format!("{origin}: {e}")).hint(
                    "a profile delivers through the mdm channel: sign the policy with `mandate sign --channel mdm`",
                )
            })?;
        PolicyInput::Bundle(bytes)
    } else {
        let text = mandate::loader::utf8(&origin, &bytes).map_err(CliError::invalid)?;
        let resolver = Resolver::with_schema_file(globals.options())?;
        Layer::parse_policy(resolver.schema(), SourceKind::Mdm, &origin, text)
            .map_err(CliError::invalid)?;
        if args.native {
            PolicyInput::NativeFrom(text.to_owned())
        } else {
            PolicyInput::Document(text.to_owned())
        }
    };
    let mut options = ProfileOptions::new(args.identifier.clone(), args.organization.clone());
    options.display_name = args.display_name.clone();
    options.scope = match args.scope {
        ScopeArg::System => Scope::System,
        ScopeArg::User => Scope::User,
    };
    options.removal_disallowed = args.removal_disallowed;
    options.form = match args.form {
        FormArg::ManagedClient => ProfileForm::ManagedClient,
        FormArg::CustomSettings => ProfileForm::CustomSettings,
    };
    options.domain = globals.domain.clone();
    options.trust_root = args.trust_root.as_deref().map(read).transpose()?;
    let mut chain_note = String::new();
    if let Some(root) = &options.trust_root
        && !args.trust_chain.is_empty()
    {
        let (chain, versions) = trust_chain(root, &args.trust_chain)?;
        chain_note = format!(", trust root chain of versions {versions}");
        options.trust_root_chain = chain;
    }
    let profile =
        build_mobileconfig(&input, &options).map_err(|e| CliError::usage(e.to_string()))?;
    let written = output::write_file(&args.output, &profile, output::Existing::Replace)?;
    if globals.json && !output::is_stdout(&args.output) {
        output::json(&serde_json::json!({
            "wrote": args.output,
            "scope": options.scope.name(),
            "form": match options.form {
                ProfileForm::ManagedClient => "managed-client",
                ProfileForm::CustomSettings => "custom-settings",
            },
            "domain": options.domain,
            "file_sha256": mandate::trust::Sha256::of(&profile).to_hex(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    output::report(
        &args.output,
        &format!(
            "wrote {written} ({} scope, {} payload for {}{chain_note}): upload it to your MDM as a custom configuration profile",
            options.scope.name(),
            match options.form {
                ProfileForm::ManagedClient => "ManagedClient",
                ProfileForm::CustomSettings => "custom settings",
            },
            options.domain
        ),
    );
    Ok(ExitCode::SUCCESS)
}

/// The earlier trust roots named by --trust-chain, oldest first, checked to
/// chain to `root`: the oldest verifies on its own, each next one as its
/// rotation, and `root` as the last step. Returns them and a summary.
fn trust_chain(root: &[u8], paths: &[PathBuf]) -> Result<(Vec<Vec<u8>>, String), CliError> {
    use mandate::trust::root::{TrustRoot, walk_chain};
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            entries.sort();
            files.extend(entries);
        } else {
            files.push(path.clone());
        }
    }
    let target = TrustRoot::claimed_version(root)
        .ok_or_else(|| CliError::usage("--trust-root: not a valid trust root"))?;
    let mut chain: Vec<(u64, Vec<u8>)> = Vec::new();
    for file in files {
        let bytes = read(&file)?;
        let version = TrustRoot::claimed_version(&bytes).ok_or_else(|| {
            CliError::usage(format!("{}: not a valid trust root", file.display()))
        })?;
        if version >= target || chain.iter().any(|(v, _)| *v == version) {
            continue;
        }
        chain.push((version, bytes));
    }
    chain.sort_by_key(|(v, _)| *v);
    let Some((first, oldest)) = chain.first() else {
        return Err(CliError::usage(format!(
            "--trust-chain: no trust root older than --trust-root's version {target}"
        )));
    };
    let start = TrustRoot::verify_self(oldest, time::OffsetDateTime::UNIX_EPOCH)
        .map_err(|e| CliError::usage(format!("trust root version {first}: {e}")))?;
    let mut steps: Vec<&[u8]> = chain.iter().skip(1).map(|(_, b)| b.as_slice()).collect();
    steps.push(root);
    walk_chain(
        &start,
        &steps,
        mandate::admission::MAX_CHAIN_STEPS,
        mandate::trust::root::MAX_ROOT_BYTES,
    )
    .map_err(|e| {
        CliError::usage(format!("--trust-chain does not lead to --trust-root: {e}"))
            .hint("give every version from the oldest a Mac may be pinned at up to the one before --trust-root")
    })?;
    let versions: Vec<String> = chain.iter().map(|(v, _)| v.to_string()).collect();
    Ok((
        chain.into_iter().map(|(_, b)| b).collect(),
        versions.join(", "),
    ))
}
