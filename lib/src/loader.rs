//! Finding and reading every source of this machine into a [`Stack`].
//!
//! The loader does all the I/O; [`crate::resolve::resolve_stack`] is pure.

use std::ops::Deref;
use std::path::{Path, PathBuf};

use time::format_description::well_known::Rfc3339;

use crate::admission::{Admission, Admitted};
use crate::env::Environment;
use crate::error::{DocumentErrors, Error};
use crate::fsafe::{FileError, TrustedTree};
use crate::layer::{Layer, session_layer};
use crate::paths::{DEFAULT_DOMAIN, Platform};
use crate::resolve::{
    Detail, Diagnostic, Effective, Severity, SourceReport, SourceStatus, Stack, resolve_stack,
};
use crate::schema::Schema;
use crate::source::{Location, SourceKind};
use crate::trust::{Expiry, VerifiedPayload};

/// The largest unmanaged file read, in bytes.
pub const MAX_UNMANAGED_SIZE: u64 = 1 << 20;

/// The project file name, looked for in the working directory and its ancestors.
pub const PROJECT_FILE: &str = ".mandate.toml";

/// What to resolve: the machine, the platform, the session.
#[derive(Clone, Debug)]
pub struct Options {
    /// Read every path under this directory instead of `/`.
    pub root: Option<PathBuf>,
    /// Which path table.
    pub platform: Platform,
    /// The preferences domain.
    pub domain: String,
    /// A schema file to use instead of the bundled agent policy schema.
    pub schema: Option<PathBuf>,
    /// The working directory for the project source (`-C DIR`); the process's own otherwise.
    pub cwd: Option<PathBuf>,
    /// `-c KEY=VALUE` arguments.
    pub session: Vec<String>,
    /// The user whose config and per-user managed preferences apply (under `--root` only).
    pub user: Option<String>,
    /// Whose configuration to resolve: the caller's (every layer) or the machine's
    /// (managed layers and defaults only).
    pub scope: Scope,
}

/// Whose configuration a resolution describes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// The person running the command: managed layers, then their session
    /// (`-c`), project and user layers, then defaults.
    #[default]
    Caller,
    /// The machine: managed layers (`mdm`, `cloud`, `system`) and defaults
    /// only. No user config, project file, session value or per-user managed
    /// preferences count, whoever runs it; this is what `mandate apply`
    /// renders for every agent on the machine.
    Machine,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            root: None,
            platform: Platform::current(),
            domain: DEFAULT_DOMAIN.to_owned(),
            schema: None,
            cwd: None,
            session: Vec::new(),
            user: None,
            scope: Scope::Caller,
        }
    }
}

/// A schema that is either the bundled one or loaded from a file.
#[derive(Debug)]
pub enum SchemaRef {
    /// The bundled agent policy schema.
    Bundled(&'static Schema),
    /// A schema loaded with `--schema`.
    Loaded(Box<Schema>),
}

impl Deref for SchemaRef {
    type Target = Schema;

    fn deref(&self) -> &Schema {
        match self {
            SchemaRef::Bundled(s) => s,
            SchemaRef::Loaded(s) => s,
        }
    }
}

/// Resolves the effective configuration of a machine.
#[derive(Debug)]
pub struct Resolver {
    options: Options,
    schema: SchemaRef,
}

impl Resolver {
    /// A resolver using the bundled schema (or `options.schema` once [`Resolver::load_schema`] ran).
    pub fn new(options: Options) -> Resolver {
        Resolver {
            options,
            schema: SchemaRef::Bundled(Schema::bundled()),
        }
    }

    /// A resolver with the schema named in `options.schema` loaded from disk.
    pub fn with_schema_file(options: Options) -> Result<Resolver, Error> {
        let schema = match &options.schema {
            None => SchemaRef::Bundled(Schema::bundled()),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| FileError::Io {
                    path: path.clone(),
                    source,
                })?;
                SchemaRef::Loaded(Box::new(Schema::from_json(
                    &path.display().to_string(),
                    &text,
                )?))
            }
        };
        Ok(Resolver { options, schema })
    }

    /// The schema in use.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The trusted tree: `/`, or `--root DIR`.
    pub fn tree(&self) -> Result<TrustedTree, Error> {
        Ok(match &self.options.root {
            Some(dir) => TrustedTree::under(dir)?,
            None => TrustedTree::system(),
        })
    }

    /// Reads every source and resolves.
    pub fn resolve(&self, env: &Environment) -> Result<Effective, Error> {
        self.resolve_with(env, Detail::Full)
    }

    /// [`Resolver::resolve`], keeping only as much of what lost as `detail` says.
    pub fn resolve_with(&self, env: &Environment, detail: Detail) -> Result<Effective, Error> {
        let stack = Stack {
            detail,
            ..self.load(env)?
        };
        Ok(resolve_stack(&self.schema, stack))
    }

    /// Reads every source into a stack, without resolving.
    pub fn load(&self, env: &Environment) -> Result<Stack, Error> {
        let tree = self.tree()?;
        let mut stack = Stack {
            domain: self.options.domain.clone(),
            root: self.options.root.as_ref().map(|r| r.display().to_string()),
            ..Stack::default()
        };
        let (mut admission, mdm) = self.admit_trust(&tree, env, &mut stack);
        for found in mdm {
            self.admit_mdm(&mut admission, &mut stack, found);
        }
        if crate::admission::in_precedence(&stack.precedence, SourceKind::Cloud) {
            crate::cloud::read_cached_for(
                &self.schema,
                &tree,
                self.options.platform,
                admission.root.as_ref(),
                &admission.state,
                env.now,
            )
            .add_to(&self.schema, &mut stack);
        }
        self.load_system(&tree, &mut admission, &mut stack);
        if self.options.scope == Scope::Caller {
            self.load_unmanaged(env, &mut stack)?;
        }
        stack.sources.push(SourceReport::new(
            SourceKind::Default,
            SourceStatus::Loaded,
            self.schema.location(),
        ));
        // A source the signed precedence leaves out does not count, and says so.
        let precedence = stack.precedence.clone();
        stack
            .layers
            .retain(|l| crate::admission::in_precedence(&precedence, l.source));
        for report in &mut stack.sources {
            if !crate::admission::in_precedence(&precedence, report.name)
                && !matches!(
                    report.status,
                    SourceStatus::Absent | SourceStatus::NotApplicable
                )
            {
                report.status = SourceStatus::Ignored;
                report.reason = Some(format!(
                    "left out of the signed precedence order ({}): it does not count",
                    Self::precedence_names(&precedence)
                ));
            }
        }
        if !crate::admission::in_precedence(&precedence, SourceKind::Cloud) {
            stack.sources.push(
                SourceReport::new(
                    SourceKind::Cloud,
                    SourceStatus::Ignored,
                    tree.real(&crate::cloud::bundle_path(self.options.platform))
                        .display()
                        .to_string(),
                )
                .because(format!(
                    "left out of the signed precedence order ({}): not read",
                    Self::precedence_names(&precedence)
                )),
            );
        }
        admission.require_known_bundles(&mut stack);
        admission.commit(&mut stack);
        Ok(stack)
    }

    /// The caller's own layers: user config, the trusted project's file, `-c`.
    fn load_unmanaged(&self, env: &Environment, stack: &mut Stack) -> Result<(), Error> {
        let user_config = self.user_config_path(env, stack);
        let trusted = self.load_user(user_config.as_deref(), stack);
        self.load_project(env, &trusted, stack);
        for (key, times) in crate::layer::repeated_session_keys(&self.options.session) {
            stack.diagnostics.push(Diagnostic {
                severity: Severity::Warning,
                code: "session-repeated".into(),
                message: format!("-c {key} is given {times} times; the last one wins"),
                source: Some(SourceKind::Session),
                location: None,
                key: Some(key),
                operator: None,
            });
        }
        match session_layer(&self.schema, &self.options.session) {
            Ok(layer) => {
                let status = if layer.settings.is_empty() {
                    SourceStatus::Absent
                } else {
                    SourceStatus::Loaded
                };
                stack.sources.push(SourceReport::new(
                    SourceKind::Session,
                    status,
                    Location::described("command line (-c)"),
                ));
                if !layer.settings.is_empty() {
                    stack.layers.push(layer);
                }
            }
            Err(errors) => return Err(Error::Document(errors)),
        }
        Ok(())
    }

    fn precedence_names(precedence: &crate::trust::root::Precedence) -> String {
        precedence
            .order
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Records a managed file that could not be used: it never counts, and
    /// the resolution degrades.
    pub fn reject_managed(
        stack: &mut Stack,
        source: SourceKind,
        location: impl Into<Location>,
        reason: String,
    ) {
        let location = location.into();
        stack.fail_closed(Diagnostic {
            severity: Severity::Error,
            code: "rejected-file".into(),
            message: format!(
                "{location}: {reason}; this {source} policy does not count and every setting is held at its lockdown value until it is fixed"
            ),
            source: Some(source),
            location: Some(location.clone()),
            key: None,
            operator: None,
        });
        stack
            .sources
            .push(SourceReport::new(source, SourceStatus::Rejected, location).because(reason));
    }

    fn load_system(&self, tree: &TrustedTree, admission: &mut Admission, stack: &mut Stack) {
        let logical = self.options.platform.policy_dir();
        let real = tree.real(&logical).display().to_string();
        let dir = match tree.list(&logical) {
            Ok(dir) => dir,
            Err(e) if e.is_absent() => {
                stack.sources.push(SourceReport::new(
                    SourceKind::System,
                    SourceStatus::Absent,
                    real,
                ));
                return;
            }
            Err(e) => {
                Resolver::reject_managed(stack, SourceKind::System, &real, file_reason(&e, &real));
                return;
            }
        };
        let mut rank = 0;
        for name in &dir.names {
            let location = format!("{real}/{name}");
            if name.starts_with('.') {
                continue;
            }
            let is_toml = name.ends_with(".toml");
            let is_bundle = name.ends_with(".bundle");
            if !is_toml && !is_bundle {
                stack.sources.push(
                    SourceReport::new(SourceKind::System, SourceStatus::Ignored, location)
                        .because("not a *.toml or *.bundle file"),
                );
                continue;
            }
            rank += 1;
            let bytes = match tree.read_in(&dir, name) {
                Ok(bytes) => bytes,
                Err(e) => {
                    Resolver::reject_managed(
                        stack,
                        SourceKind::System,
                        &location,
                        file_reason(&e, &location),
                    );
                    continue;
                }
            };
            self.admit(
                admission,
                stack,
                Found {
                    source: SourceKind::System,
                    location: &location,
                    text_origin: &Location::new(&location),
                    bytes: &bytes,
                    is_bundle,
                    rank,
                },
            );
        }
    }

    /// Verifies (where the trust root requires it), parses and adds one
    /// managed policy file or payload; a file that fails is rejected and
    /// degrades the resolution.
    pub fn admit(&self, admission: &mut Admission, stack: &mut Stack, found: Found<'_>) {
        let Found {
            source,
            location,
            text_origin,
            bytes,
            is_bundle,
            rank,
        } = found;
        let Some(managed) = source.managed() else {
            return;
        };
        // A verified bundle's layer is built from the document verification
        // parsed (its header was read from it): the payload is parsed once.
        // Past its grace a bundle does not count, and no layer is built.
        let read = |payload: &VerifiedPayload<'_>| match payload.expiry {
            Expiry::PastGrace { .. } => None,
            Expiry::Fresh { .. } | Expiry::InGrace { .. } => {
                let header = payload.header;
                let origin = text_origin.in_bundle(header.id.clone(), header.version);
                Some(Layer::from_payload(&self.schema, source, origin, payload))
            }
        };
        let (report, parsed) = match admission.admit(managed, bytes, is_bundle, read) {
            Admitted::Rejected(reason) => {
                Resolver::reject_managed(stack, source, location, reason);
                return;
            }
            Admitted::Unsigned(reason) => {
                let mut report = SourceReport::new(source, SourceStatus::Unsigned, location);
                if reason == crate::trust::UnsignedReason::NotRequired {
                    report.reason = Some(reason.to_string());
                }
                (report, self.parse_managed(source, text_origin, bytes))
            }
            Admitted::Verified(bundle, layer) => {
                let header = &bundle.header;
                let mut report = SourceReport::new(source, SourceStatus::Verified, location);
                report.id = Some(header.id.clone());
                report.version = Some(header.version);
                report.expires = header.expires.format(&Rfc3339).ok();
                report.signers = bundle
                    .signers
                    .iter()
                    .map(|k| k.as_str().to_owned())
                    .collect();
                report
                    .details
                    .insert("trust_root_version".into(), bundle.root_version.into());
                match bundle.expiry {
                    Expiry::Fresh { .. } => {}
                    Expiry::InGrace { left, .. } => {
                        report.status = SourceStatus::Expired;
                        report.reason = Some(format!(
                            "expired, still used within the offline grace ({} left); publish a new version",
                            crate::trust::root::format_duration(left)
                        ));
                        stack.diagnostics.push(Diagnostic {
                            severity: Severity::Warning,
                            code: "expired-in-grace".into(),
                            message: format!(
                                "{location}: policy {} v{} expired; it stays in force for {} more (offline grace), then every setting locks down",
                                header.id,
                                header.version,
                                crate::trust::root::format_duration(left)
                            ),
                            source: Some(source),
                            location: Some(Location::new(location)),
                            key: None,
                            operator: None,
                        });
                    }
                    Expiry::PastGrace { grace_ended, .. } => {
                        let mut report = report;
                        report.status = SourceStatus::Expired;
                        report.reason = Some(format!(
                            "expired and past the offline grace (ended {}): settings are held at their lockdown values",
                            grace_ended.format(&Rfc3339).unwrap_or_default()
                        ));
                        stack.sources.push(report);
                        stack.fail_closed(Diagnostic {
                            severity: Severity::Error,
                            code: "expired-past-grace".into(),
                            message: format!(
                                "{location}: policy {} v{} expired and its offline grace ended {}: it does not count and every setting is held at its lockdown value until a new version is installed",
                                header.id,
                                header.version,
                                grace_ended.format(&Rfc3339).unwrap_or_default()
                            ),
                            source: Some(source),
                            location: Some(Location::new(location)),
                            key: None,
                            operator: None,
                        });
                        return;
                    }
                }
                let Some(parsed) = layer else {
                    // Past its grace: handled above; nothing is built.
                    return;
                };
                admission.verified.push(*bundle);
                (report, parsed)
            }
        };
        match parsed {
            Ok(mut layer) => {
                layer.rank = rank;
                layer.location = Location::new(location);
                let mut report = report;
                if let Some(p) = &layer.policy {
                    report.id = report.id.or_else(|| p.id.clone());
                    report.version = report.version.or(p.version);
                    report.expires = report.expires.or_else(|| p.expires.clone());
                    report.description = p.description.clone();
                    report.contact = p.contact.clone();
                }
                stack.sources.push(report);
                stack.layers.push(layer);
            }
            Err(errors) => Resolver::reject_managed(stack, source, location, errors.to_string()),
        }
    }

    /// The trust root and rollback state in force, exactly as resolution
    /// sees them (including a trust root delivered by MDM); what `sync`
    /// verifies against. Problems are recorded in the returned stack.
    pub fn admission(&self, env: &Environment) -> Result<(Admission, Stack), Error> {
        let tree = self.tree()?;
        let mut stack = Stack::default();
        let (admission, _) = self.admit_trust(&tree, env, &mut stack);
        Ok((admission, stack))
    }

    fn admit_trust(
        &self,
        tree: &TrustedTree,
        env: &Environment,
        stack: &mut Stack,
    ) -> (Admission, Vec<MdmFound>) {
        let mdm = self.read_mdm(tree, env, stack);
        let machine = mdm.iter().find(|m| m.source == SourceKind::Mdm);
        let mdm_trust_root = machine.and_then(|m| m.content.trust_root.clone());
        let mdm_chain = machine
            .map(|m| m.content.trust_root_chain.clone())
            .unwrap_or_default();
        let admission = Admission::load_with_chain(
            tree,
            self.options.platform,
            env.now,
            mdm_trust_root,
            mdm_chain,
            stack,
        );
        (admission, mdm)
    }

    /// Parses the bytes of a managed policy document.
    pub fn parse_managed(
        &self,
        source: SourceKind,
        location: impl Into<Location>,
        bytes: &[u8],
    ) -> Result<Layer, DocumentErrors> {
        let location = location.into();
        let text = utf8(&location, bytes)?;
        Layer::parse_policy(&self.schema, source, location, text)
    }

    /// The user config file this resolver reads (the real path, under
    /// `--root` when given): where `mandate project trust` records trust.
    /// `None` when there is no home, or `--root` holds several homes and no
    /// `--user` was given.
    pub fn user_config_file(&self, env: &Environment) -> Option<PathBuf> {
        self.user_config_path(env, &mut Stack::default())
    }

    /// A directory as a user config names it: under `--root`, as the
    /// machine the tree stands for sees it.
    pub fn machine_path(&self, dir: &Path) -> PathBuf {
        match &self.options.root {
            Some(root) => match dir.strip_prefix(root) {
                Ok(rest) => Path::new("/").join(rest),
                Err(_) => dir.to_path_buf(),
            },
            None => dir.to_path_buf(),
        }
    }

    fn user_config_path(&self, env: &Environment, stack: &mut Stack) -> Option<PathBuf> {
        let Some(root) = &self.options.root else {
            stack.kind_context.home = env.home.as_ref().map(|h| h.display().to_string());
            return env.user_config.clone();
        };
        let platform = self.options.platform;
        let user = match &self.options.user {
            Some(u) => u.clone(),
            None => {
                let homes = root.join(
                    platform
                        .home_under_root("")
                        .strip_prefix("/")
                        .unwrap_or(Path::new("")),
                );
                let mut users: Vec<String> = std::fs::read_dir(&homes)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                if users.len() != 1 {
                    if users.len() > 1 {
                        users.sort();
                        stack.diagnostics.push(Diagnostic {
                            severity: Severity::Info,
                            code: "ambiguous-user".into(),
                            message: format!(
                                "{} has several home directories ({}): pass --user NAME to read one user's config",
                                homes.display(),
                                users.join(", ")
                            ),
                            source: Some(SourceKind::User),
                            location: None,
                            key: None,
                            operator: None,
                        });
                    }
                    return None;
                }
                users.remove(0)
            }
        };
        // `~` means the user's home on the machine the tree was copied from.
        stack.kind_context.home = Some(platform.home_under_root(&user).display().to_string());
        let home = platform
            .home_under_root(&user)
            .join(platform.user_config_in_home());
        Some(root.join(home.strip_prefix("/").unwrap_or(&home)))
    }

    fn load_user(&self, path: Option<&Path>, stack: &mut Stack) -> Vec<PathBuf> {
        let Some(path) = path else {
            stack.sources.push(
                SourceReport::new(
                    SourceKind::User,
                    SourceStatus::Absent,
                    Location::described("(unknown)"),
                )
                .because("no user whose config to read (under --root, pass --user NAME)"),
            );
            return Vec::new();
        };
        let location = path.display().to_string();
        let Some(text) = self.read_unmanaged(SourceKind::User, path, stack) else {
            return Vec::new();
        };
        let (parsed, trusted) = Layer::parse_user_config(&self.schema, &location, &text);
        let trusted = trusted_dirs(trusted, self.options.root.as_deref());
        match parsed {
            Ok(layer) => {
                stack.sources.push(SourceReport::new(
                    SourceKind::User,
                    SourceStatus::Loaded,
                    location,
                ));
                stack.layers.push(layer);
            }
            Err(errors) => skip_unmanaged(stack, SourceKind::User, &location, &errors),
        }
        trusted
    }

    fn load_project(&self, env: &Environment, trusted: &[PathBuf], stack: &mut Stack) {
        let Some(cwd) = self.options.cwd.clone().or_else(|| env.cwd.clone()) else {
            stack.sources.push(
                SourceReport::new(
                    SourceKind::Project,
                    SourceStatus::Absent,
                    Location::described("(no working directory)"),
                )
                .because("no working directory to look for .mandate.toml from (use -C DIR)"),
            );
            return;
        };
        let Some(file) = find_project_file(&cwd) else {
            stack.sources.push(
                SourceReport::new(
                    SourceKind::Project,
                    SourceStatus::Absent,
                    cwd.join(".mandate.toml").display().to_string(),
                )
                .because(
                    "no .mandate.toml in this directory or an ancestor up to the repository root",
                ),
            );
            return;
        };
        let location = file.display().to_string();
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let canonical = dir.canonicalize().unwrap_or(dir.clone());
        let is_trusted = trusted
            .iter()
            .any(|t| t.canonicalize().is_ok_and(|t| t == canonical));
        if !is_trusted {
            stack.sources.push(
                SourceReport::new(SourceKind::Project, SourceStatus::Ignored, location).because(format!(
                    "the project is not trusted; to trust it run `mandate project trust {dir}` (it records [projects.\"{dir}\"] trusted = true in your user config)",
                    // Under --root, trusted paths are written as the machine sees them.
                    dir = self.machine_path(&dir).display()
                )),
            );
            return;
        }
        let Some(text) = self.read_unmanaged(SourceKind::Project, &file, stack) else {
            return;
        };
        match Layer::parse_settings(&self.schema, SourceKind::Project, &location, &text) {
            Ok(layer) => {
                stack.sources.push(SourceReport::new(
                    SourceKind::Project,
                    SourceStatus::Loaded,
                    location,
                ));
                stack.layers.push(layer);
            }
            Err(errors) => skip_unmanaged(stack, SourceKind::Project, &location, &errors),
        }
    }

    fn read_unmanaged(&self, source: SourceKind, path: &Path, stack: &mut Stack) -> Option<String> {
        let location = path.display().to_string();
        let result = read_unmanaged_file(path).and_then(|bytes| {
            String::from_utf8(bytes).map_err(|e| {
                utf8(&location, e.as_bytes())
                    .err()
                    .map_or_else(|| e.to_string(), |errors| errors.to_string())
            })
        });
        match result {
            Ok(text) => Some(text),
            Err(_) if !path.exists() => {
                stack
                    .sources
                    .push(SourceReport::new(source, SourceStatus::Absent, location));
                None
            }
            Err(reason) => {
                let errors = DocumentErrors(vec![crate::error::Problem {
                    location: Location::new(&location),
                    key: None,
                    message: reason,
                }]);
                skip_unmanaged(stack, source, &location, &errors);
                None
            }
        }
    }
}

/// Reads a user or project file: a regular file (symbolic links followed),
/// opened without blocking (a FIFO cannot hang the reader), at most
/// [`MAX_UNMANAGED_SIZE`] bytes, read once with a bounded reader.
fn read_unmanaged_file(path: &Path) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    crate::fsafe::read_bounded(file, meta.len(), MAX_UNMANAGED_SIZE, path).map_err(|e| e.reason())
}

/// One managed policy file (or plist payload) found by the loader, before admission.
#[derive(Debug, Clone, Copy)]
pub struct Found<'a> {
    /// The source it was found in.
    pub source: SourceKind,
    /// Where it was found (reported by `sources`).
    pub location: &'a str,
    /// The origin used for line numbers of its text (a plist's `… > Policy`).
    pub text_origin: &'a Location,
    /// Its bytes: a bundle envelope or a policy document.
    pub bytes: &'a [u8],
    /// Whether the bytes are a signed bundle.
    pub is_bundle: bool,
    /// Its rank within the source (higher wins).
    pub rank: u32,
}

/// A managed preferences plist, read and parsed but not yet admitted.
#[derive(Debug)]
pub struct MdmFound {
    source: SourceKind,
    location: String,
    content: crate::mdm::MdmContent,
}

impl Resolver {
    /// Reads the machine and user managed preferences plists (macOS path table only).
    fn read_mdm(&self, tree: &TrustedTree, env: &Environment, stack: &mut Stack) -> Vec<MdmFound> {
        let platform = self.options.platform;
        if platform != Platform::Macos {
            // Listed, so that "no MDM" reads as a fact of the platform (the
            // per-user source only where a user's sources are read at all).
            let mut places = vec![(
                SourceKind::Mdm,
                Platform::Macos.mdm_plist(&self.options.domain),
            )];
            if self.options.scope == Scope::Caller {
                places.push((
                    SourceKind::MdmUser,
                    Platform::Macos.mdm_user_plist("<user>", &self.options.domain),
                ));
            }
            for (source, logical) in places {
                stack.sources.push(
                    SourceReport::new(
                        source,
                        SourceStatus::NotApplicable,
                        logical.display().to_string(),
                    )
                    .because(format!("macOS only (read with {} paths)", platform.name())),
                );
            }
            return Vec::new();
        }
        let domain = &self.options.domain;
        let user = match (&self.options.root, self.options.scope) {
            (_, Scope::Machine) => None,
            (Some(_), Scope::Caller) => self.options.user.clone(),
            (None, Scope::Caller) => env.user_name.clone(),
        };
        let mut places = vec![(SourceKind::Mdm, platform.mdm_plist(domain))];
        if let Some(user) = user {
            places.push((SourceKind::MdmUser, platform.mdm_user_plist(&user, domain)));
        }
        let mut found = Vec::new();
        for (source, logical) in places {
            let location = tree.real(&logical).display().to_string();
            let bytes = match tree.read(&logical) {
                Ok(bytes) => bytes,
                Err(e) if e.is_absent() => {
                    stack
                        .sources
                        .push(SourceReport::new(source, SourceStatus::Absent, location));
                    continue;
                }
                Err(e) => {
                    Resolver::reject_managed(stack, source, &location, file_reason(&e, &location));
                    continue;
                }
            };
            match crate::mdm::read_managed_plist(&self.schema, source, &location, &bytes) {
                Ok(content) if content.is_empty() => {
                    stack.sources.push(
                        SourceReport::new(source, SourceStatus::Absent, location)
                            .because("the plist holds no Policy, Settings or Requirements"),
                    );
                }
                Ok(content) => found.push(MdmFound {
                    source,
                    location,
                    content,
                }),
                Err(errors) => {
                    Resolver::reject_managed(stack, source, &location, errors.to_string())
                }
            }
        }
        found
    }

    /// Admits what a plist holds: the native `Settings`/`Requirements`
    /// layer (rank 1, unsigned by nature) and the `Policy` key (rank 2).
    fn admit_mdm(&self, admission: &mut Admission, stack: &mut Stack, found: MdmFound) {
        let MdmFound {
            source,
            location,
            content,
        } = found;
        if let Some(mut layer) = content.native {
            let Some(managed) = source.managed() else {
                return;
            };
            match admission.admit(managed, &[], false, |_| ()) {
                Admitted::Rejected(reason) => {
                    Resolver::reject_managed(
                        stack,
                        source,
                        Location::new(&location).with_detail("Settings/Requirements"),
                        reason,
                    );
                }
                _ => {
                    layer.rank = 1;
                    let mut report = SourceReport::new(source, SourceStatus::Unsigned, &location);
                    report
                        .details
                        .insert("form".into(), "native Settings/Requirements".into());
                    stack.sources.push(report);
                    stack.layers.push(layer);
                }
            }
        }
        if let Some(policy) = content.policy {
            let text_origin = crate::mdm::document_origin(&location);
            let (bytes, is_bundle) = match policy {
                crate::mdm::PolicyPayload::Bundle(bytes) => (bytes, true),
                crate::mdm::PolicyPayload::Document(text) => (text.into_bytes(), false),
            };
            self.admit(
                admission,
                stack,
                Found {
                    source,
                    location: &location,
                    text_origin: &text_origin,
                    bytes: &bytes,
                    is_bundle,
                    rank: 2,
                },
            );
        }
    }
}

fn skip_unmanaged(stack: &mut Stack, source: SourceKind, location: &str, errors: &DocumentErrors) {
    stack.diagnostics.push(Diagnostic {
        severity: Severity::Warning,
        code: "skipped-file".into(),
        message: format!("{errors}\n  this {source} file is skipped until it is fixed; managed policy is unaffected"),
        source: Some(source),
        location: Some(Location::new(location)),
        key: None,
        operator: None,
    });
    stack.sources.push(
        SourceReport::new(source, SourceStatus::Rejected, location).because(
            errors
                .0
                .first()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "malformed".into()),
        ),
    );
}

/// A file error as a reason for a report at `location`: without the path
/// when it is the location itself, with it when a parent is at fault.
pub fn file_reason(e: &FileError, location: &str) -> String {
    if e.path() == Path::new(location) {
        e.reason()
    } else {
        e.to_string()
    }
}

/// Checks that bytes are UTF-8, naming the line of the first bad byte.
pub fn utf8(location: impl Into<Location>, bytes: &[u8]) -> Result<&str, DocumentErrors> {
    std::str::from_utf8(bytes).map_err(|e| {
        // The bytes before the first bad one are UTF-8 by definition.
        let good = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
        let (line, column) = crate::document::line_col(good, good.len());
        DocumentErrors(vec![crate::error::Problem {
            location: location.into().at(line, column),
            key: None,
            message: "invalid UTF-8: policy files must be UTF-8 text".into(),
        }])
    })
}

/// The directories a user config trusts (`[projects."<dir>"] trusted =
/// true`). Under `--root`, the directories are read under the root.
fn trusted_dirs(dirs: Vec<String>, root: Option<&Path>) -> Vec<PathBuf> {
    dirs.into_iter()
        .map(|dir| match root {
            Some(root) => root.join(dir.trim_start_matches('/')),
            None => PathBuf::from(dir),
        })
        .collect()
}

/// `text`, a user config, with `[projects."<dir>"] trusted = trusted`,
/// everything else (comments, order, formatting) kept as written.
///
/// ```
/// let text = "# mine\n[sandbox]\nmode = \"read-only\"\n";
/// let new = mandate::loader::set_project_trust(text, "/src/app", true).unwrap();
/// assert!(new.starts_with("# mine\n[sandbox]"));
/// assert!(new.contains("[projects.\"/src/app\"]\ntrusted = true"));
/// ```
pub fn set_project_trust(text: &str, dir: &str, trusted: bool) -> Result<String, String> {
    let mut doc = text
        .parse::<toml_edit::DocumentMut>()
        .map_err(|e| e.to_string())?;
    let projects = doc
        .entry("projects")
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_like_mut()
        .ok_or("`projects` is not a table")?;
    let entry = projects
        .entry(dir)
        .or_insert(toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_like_mut()
        .ok_or_else(|| format!("`projects.\"{dir}\"` is not a table"))?;
    entry.insert("trusted", toml_edit::value(trusted));
    Ok(doc.to_string())
}

/// The nearest `.mandate.toml` in `cwd` or an ancestor, stopping at the
/// repository root (the first directory holding `.git`).
pub fn find_project_file(cwd: &Path) -> Option<PathBuf> {
    for dir in cwd.ancestors() {
        let candidate = dir.join(PROJECT_FILE);
        if candidate.is_file() {
            return Some(candidate);
        }
        if dir.join(".git").exists() {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn invalid_utf8_is_located_in_characters() {
        let mut bytes = "a = 1\nb = \"日本".as_bytes().to_vec();
        bytes.push(0xff);
        let err = super::utf8("f.toml", &bytes).expect_err("invalid");
        assert_eq!(err.0[0].location.to_string(), "f.toml:2:8");
    }
}
