//! Resolution: from unmerged layers to one effective configuration.
//!
//! 1. Requirements combine by intersection across the accepted managed
//!    layers, highest-ranked first ([`Requirement::tighten`]); a constraint
//!    that would leave nothing admissible is dropped and reported.
//! 2. For each setting the first compliant candidate wins, in this order:
//!    session > project > user > managed `[settings]` (by source order) >
//!    the requirement's `default` > the schema default > the strictest value
//!    the requirements allow. Lists are repaired rather than refused.
//! 3. When a managed layer could not be read or verified (and no last known
//!    good copy stands in), every setting is held at its lockdown value.

use std::collections::{BTreeMap, HashMap};

use crate::value::{Map, Value};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::constraint::{Conflict, Refusal, Requirement, Setter, UniqueValues};
use crate::kind::{KindContext, ValueKind};
use crate::layer::Layer;
use crate::schema::{Kind, ListMerge, Schema, Setting};
use crate::source::{Location, SourceKind};

/// Whether managed policy is in force as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every managed layer was read (and verified where required).
    Ok,
    /// A managed layer was rejected: its last known good copy, or lockdown values, are in force.
    Degraded,
    /// Nothing could be resolved (the schema or the set-up is broken).
    Error,
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For information.
    Info,
    /// Something to fix; resolution went on.
    Warning,
    /// Managed policy could not be applied as written.
    Error,
}

/// A message about the set-up, with a stable code.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnostic {
    /// How serious.
    pub severity: Severity,
    /// A stable code, such as `conflict` or `rejected-file`.
    pub code: String,
    /// What happened, why, and what to do.
    pub message: String,
    /// The source concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceKind>,
    /// The exact location, when there is one.
    #[serde(flatten)]
    pub location: Option<Location>,
    /// The setting concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The constraint operator concerned (a `conflict` drops only this one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

/// What one source location contributed, for `mandate sources`.
#[derive(Clone, Debug, Serialize)]
pub struct SourceReport {
    /// The source name.
    pub name: SourceKind,
    /// `loaded`, `absent`, `rejected`, `verified`, `unsigned`, `expired`,
    /// `ignored` or `not-applicable`.
    pub status: SourceStatus,
    /// Where it was looked for or read from.
    #[serde(flatten)]
    pub location: Location,
    /// Why (for `rejected`, `ignored`, `absent` when not obvious, `expired`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The policy id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The policy version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// When the policy expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// What the policy is for (its header's `description`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whom to ask about it (its header's `contact`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Key ids whose signatures verified.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signers: Vec<String>,
    /// Anything else worth showing (fetched-at, grace left, the trust root version).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub details: Map,
}

/// The status of one source location.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceStatus {
    /// Read and in force (unmanaged, or managed in unsigned mode).
    Loaded,
    /// Nothing there.
    Absent,
    /// There, but refused: it does not count.
    Rejected,
    /// Signed and verified.
    Verified,
    /// Accepted without a signature (no trust root installed, or the root does not require one).
    Unsigned,
    /// Signed, but past its expiry.
    Expired,
    /// There, but deliberately not read (an untrusted project).
    Ignored,
    /// Not a source on this platform (MDM managed preferences on Linux).
    #[serde(rename = "not-applicable")]
    NotApplicable,
}

impl SourceStatus {
    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            SourceStatus::Loaded => "loaded",
            SourceStatus::Absent => "absent",
            SourceStatus::Rejected => "rejected",
            SourceStatus::Verified => "verified",
            SourceStatus::Unsigned => "unsigned",
            SourceStatus::Expired => "expired",
            SourceStatus::Ignored => "ignored",
            SourceStatus::NotApplicable => "not-applicable",
        }
    }
}

impl SourceReport {
    /// A report with only a name, status and location.
    pub fn new(
        name: SourceKind,
        status: SourceStatus,
        location: impl Into<Location>,
    ) -> SourceReport {
        SourceReport {
            name,
            status,
            location: location.into(),
            reason: None,
            id: None,
            version: None,
            expires: None,
            description: None,
            contact: None,
            signers: Vec::new(),
            details: Map::new(),
        }
    }

    /// The same report with a reason.
    pub fn because(mut self, reason: impl Into<String>) -> SourceReport {
        self.reason = Some(reason.into());
        self
    }
}

/// The managed source order and per-key merge rules in force: from a
/// verified trust root, or the defaults of DESIGN §2.
pub use crate::trust::root::Precedence;

fn position(precedence: &Precedence, source: SourceKind) -> usize {
    match source.managed() {
        Some(m) => precedence.rank(m).unwrap_or(usize::MAX - 1),
        None => usize::MAX,
    }
}

fn replaces(precedence: &Precedence, key: &str) -> bool {
    precedence.merge_for(key) == crate::trust::root::Merge::Replace
}

/// Whether a trust root is in force, and which.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TrustSummary {
    /// `signed` when a verified trust root is installed, `unsigned` when none is
    /// (root-owned files are then accepted without signatures), `rejected` when
    /// one is installed but does not verify.
    pub mode: String,
    /// Where the trust root is (or was looked for).
    #[serde(flatten)]
    pub location: Location,
    /// Its version, when one is in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Its expiry, when one is in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The organisation it names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Why it is not in force, or a note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Everything resolution reads: the layers and what the loader found out.
#[derive(Clone, Debug, Default)]
pub struct Stack {
    /// The accepted layers, in any order.
    pub layers: Vec<Layer>,
    /// What each source location contributed.
    pub sources: Vec<SourceReport>,
    /// Problems found while loading.
    pub diagnostics: Vec<Diagnostic>,
    /// A managed layer could not be applied and no last known good copy stands in: lock down.
    pub lockdown: bool,
    /// A managed layer was rejected (with or without a stand-in).
    pub degraded: bool,
    /// The precedence in force.
    pub precedence: Precedence,
    /// The preferences domain.
    pub domain: String,
    /// `--root`, when paths are read under one.
    pub root: Option<String>,
    /// The trust root in force.
    pub trust: TrustSummary,
    /// The user the agent runs as, for `~` in paths (see [`crate::kind`]).
    pub kind_context: KindContext,
    /// How much of what lost the result keeps.
    pub detail: Detail,
}

/// How much of what lost a resolution keeps beside the values.
///
/// Either way every value, its source and location, and every refusal are
/// there; [`Detail::Values`] leaves out only the records a reader of values
/// does not print, so that a long list merged by union is not also kept as
/// each layer wrote it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Detail {
    /// Everything: the proposals that were overridden, and each layer's list
    /// a union merged ([`KeyReport::overridden`], [`KeyReport::merged`]).
    #[default]
    Full,
    /// The values with their provenance and refusals; `overridden` and
    /// `merged` are left empty.
    Values,
}

impl Stack {
    /// Fails closed: managed policy that should be in force is not (a
    /// rejected file, a trust root that does not verify, a configured source
    /// that never delivered, a bundle that vanished, one expired past its
    /// grace), so the result is degraded and every setting is held at its
    /// lockdown value. `diagnostic` says what happened and what to do; it is
    /// recorded as an error. Every such path goes through here.
    pub fn fail_closed(&mut self, mut diagnostic: Diagnostic) {
        diagnostic.severity = Severity::Error;
        self.degraded = true;
        self.lockdown = true;
        self.diagnostics.push(diagnostic);
    }
}

/// A refused candidate.
#[derive(Clone, Debug, Serialize)]
pub struct Rejected {
    /// The value proposed.
    pub value: Value,
    /// Who proposed it.
    pub source: String,
    /// Where it was proposed.
    #[serde(flatten)]
    pub location: Location,
    /// Why it was refused.
    pub reason: String,
    /// The constraint that refused it and who set that.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint: Option<RefusedBy>,
}

/// The operator that refused a value, and its setter.
#[derive(Clone, Debug, Serialize)]
pub struct RefusedBy {
    /// The operator (`allowed`, `value`, `within` …).
    pub op: String,
    /// The source that set it.
    pub source: SourceKind,
    /// Where it was set.
    #[serde(flatten)]
    pub location: Location,
}

/// A compliant candidate that lost to a higher-ranked one.
#[derive(Clone, Debug, Serialize)]
pub struct Overridden {
    /// The value proposed.
    pub value: Value,
    /// Who proposed it.
    pub source: String,
    /// Where.
    #[serde(flatten)]
    pub location: Location,
}

/// How one setting got its effective value.
#[derive(Clone, Debug, Serialize)]
pub struct KeyReport {
    /// The effective value.
    pub value: Value,
    /// Who supplied it: a source name, or `lockdown`.
    pub source: String,
    /// Where it was written.
    #[serde(flatten)]
    pub location: Location,
    /// Whether nothing below managed policy can change it.
    pub locked: bool,
    /// The combined requirement, with `sources`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint: Option<Map>,
    /// Candidates (or list elements) that were refused.
    pub rejected: Vec<Rejected>,
    /// Compliant candidates that lost.
    pub overridden: Vec<Overridden>,
    /// For lists merged by union: every contributing layer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<Overridden>,
    /// The combined requirement for people, one line per operator.
    #[serde(skip)]
    pub constraint_lines: Vec<String>,
}

/// The effective configuration, with provenance; what `mandate show --json` prints.
///
/// Its JSON has a `settings` table (every set value, nested by key) beside
/// `keys`; the table is written from `keys` as it is serialized, never
/// stored twice ([`Effective::settings`] builds it as a value).
#[derive(Clone, Debug)]
pub struct Effective {
    /// The preferences domain.
    pub domain: String,
    /// Whether managed policy is in force as written.
    pub status: Status,
    /// `--root`, when one was given.
    pub root: Option<String>,
    /// `sha256:` over the canonical form of the settings table
    /// ([`Effective::settings`]) as resolved.
    pub digest: String,
    /// Per-setting provenance, by dotted key.
    pub keys: BTreeMap<String, KeyReport>,
    /// The trust root in force (`unsigned` mode when there is none).
    pub trust: TrustSummary,
    /// What each source contributed.
    pub sources: Vec<SourceReport>,
    /// Problems, conflicts and notes.
    pub diagnostics: Vec<Diagnostic>,
}

impl Effective {
    /// The effective value of `key` (`None` when unset; `keys` still
    /// records an unset setting whose proposals were all refused, with
    /// `value: null`).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.keys
            .get(key)
            .map(|k| &k.value)
            .filter(|v| !v.is_null())
    }

    /// The effective value of a string setting.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// The effective value of a boolean setting.
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(Value::as_bool)
    }

    /// The effective value of a list of strings.
    pub fn get_strings(&self, key: &str) -> Option<Vec<&str>> {
        self.get(key)?
            .as_array()?
            .iter()
            .map(Value::as_str)
            .collect()
    }

    /// Whether managed policy could not be applied as written.
    pub fn is_degraded(&self) -> bool {
        self.status != Status::Ok
    }

    /// The decision for a command line under `commands.rules`: the strictest
    /// decision among the rules whose pattern is a prefix of `argv`
    /// (`forbidden` > `prompt` > `allow`), or `None` when no rule matches.
    pub fn command_decision(&self, argv: &[&str]) -> Option<&str> {
        let rank = |d: &str| match d {
            "forbidden" => 3,
            "prompt" => 2,
            "allow" => 1,
            _ => 0,
        };
        self.get("commands.rules")?
            .as_array()?
            .iter()
            .filter(|rule| {
                rule.get("pattern")
                    .and_then(Value::as_array)
                    .is_some_and(|p| {
                        p.len() <= argv.len()
                            && p.iter().zip(argv).all(|(t, a)| t.as_str() == Some(a))
                    })
            })
            .filter_map(|rule| rule.get("decision").and_then(Value::as_str))
            .max_by_key(|d| rank(d))
    }
}

/// Resolves layers with the default precedence and no loader findings.
pub fn resolve(schema: &Schema, layers: Vec<Layer>) -> Effective {
    resolve_stack(
        schema,
        Stack {
            layers,
            domain: crate::paths::DEFAULT_DOMAIN.into(),
            ..Stack::default()
        },
    )
}

struct Candidate<'a> {
    /// The value (`null` for a list a union takes: see `resolve_stack`).
    value: &'a Value,
    source: SourceKind,
    location: &'a Location,
    /// Where the value lives in the stack (layer, entry), for a layer's
    /// proposal.
    origin: Option<(usize, usize)>,
}

/// Resolves a full stack.
pub fn resolve_stack(schema: &Schema, mut stack: Stack) -> Effective {
    let precedence = stack.precedence.clone();
    // Highest first: managed by trust-root order then rank (later file first),
    // unmanaged in fixed order.
    stack.layers.sort_by_key(|l| {
        (
            !l.source.is_managed(),
            position(&precedence, l.source),
            l.source,
            std::cmp::Reverse(l.rank),
        )
    });
    // A union consumes every layer's list: the lists are taken out of their
    // layers before anything borrows them, so that their elements move into
    // the result instead of being copied (`resolve_key`). In lockdown the
    // proposals are only read.
    let mut union_lists: HashMap<(usize, usize), Value> = HashMap::new();
    if !stack.lockdown {
        for (l, layer) in stack.layers.iter_mut().enumerate() {
            for (n, e) in layer.settings.iter_mut().enumerate() {
                if e.value.is_array() && schema.get(&e.key).is_some_and(Setting::merges_by_union) {
                    union_lists.insert((l, n), std::mem::take(&mut e.value));
                }
            }
        }
    }
    let managed: Vec<(usize, &Layer)> = stack
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| l.source.is_managed())
        .collect();
    let unmanaged: Vec<(usize, &Layer)> = stack
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.source.is_managed())
        .collect();

    // Index entries by key once: settings are looked up per key below.
    let mut proposals: BTreeMap<&str, Vec<Candidate>> = BTreeMap::new();
    for &(l, layer) in unmanaged.iter().chain(&managed) {
        for (n, e) in layer.settings.iter().enumerate() {
            proposals
                .entry(e.key.as_str())
                .or_default()
                .push(Candidate {
                    value: &e.value,
                    source: layer.source,
                    location: &e.location,
                    origin: Some((l, n)),
                });
        }
    }
    let mut constraints: BTreeMap<&str, Vec<(&crate::constraint::Constraint, Setter)>> =
        BTreeMap::new();
    for (_, layer) in &managed {
        for e in &layer.requirements {
            constraints.entry(e.key.as_str()).or_default().push((
                &e.value,
                Setter {
                    source: layer.source,
                    location: e.location.clone(),
                },
            ));
        }
    }

    let mut keys = BTreeMap::new();
    let mut diagnostics = std::mem::take(&mut stack.diagnostics);
    for setting in schema.settings() {
        let key = setting.key.as_str();
        let mut req = Requirement::with_context(setting, stack.kind_context.clone());
        for (i, (c, setter)) in constraints.get(key).into_iter().flatten().enumerate() {
            if i > 0 && replaces(&precedence, key) {
                diagnostics.push(Diagnostic {
                    severity: Severity::Info,
                    code: "replaced".into(),
                    message: format!(
                        "the requirement on \"{key}\" from {setter} is replaced by a higher-ranked one (signed precedence rule: replace)"
                    ),
                    source: Some(setter.source),
                    location: Some(setter.location.clone()),
                    key: Some(key.into()),
                    operator: None,
                });
                continue;
            }
            for conflict in req.tighten(c, setter) {
                diagnostics.push(conflict_diagnostic(&conflict));
            }
        }
        // A `default` the other operators refuse can never apply: say so.
        if let Some((value, setter)) = req.default_value()
            && let Some(refusal) = req.refusal(value)
        {
            diagnostics.push(Diagnostic {
                severity: Severity::Warning,
                code: "default-refused".into(),
                message: format!(
                    "the default {value} for \"{key}\" set by {setter} is {}; it never applies, so fix one of the two",
                    refusal.reason
                ),
                source: Some(setter.source),
                location: Some(setter.location.clone()),
                key: Some(key.into()),
                operator: None,
            });
        }
        let candidates = proposals.remove(key).unwrap_or_default();
        let report = if stack.lockdown {
            let raw: Vec<&crate::constraint::Constraint> = constraints
                .get(key)
                .into_iter()
                .flatten()
                .map(|(c, _)| *c)
                .collect();
            lockdown_report(setting, &req, &raw, &candidates)
        } else {
            let lists = candidates
                .iter()
                .map(|c| c.origin.and_then(|o| union_lists.remove(&o)))
                .collect();
            resolve_key(schema, setting, &req, &candidates, lists, stack.detail)
        };
        if let Some(report) = report {
            keys.insert(setting.key.clone(), report);
        }
    }

    let digest = canonical_digest(&Nested::of(&keys));
    let status = if stack.degraded || stack.lockdown {
        Status::Degraded
    } else {
        Status::Ok
    };
    Effective {
        domain: stack.domain,
        status,
        root: stack.root,
        digest,
        keys,
        trust: stack.trust,
        sources: stack.sources,
        diagnostics,
    }
}

fn conflict_diagnostic(c: &Conflict) -> Diagnostic {
    let kept = c
        .kept
        .iter()
        .map(Setter::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Diagnostic {
        severity: Severity::Warning,
        code: "conflict".into(),
        message: format!(
            "`{}` on \"{}\" from {} contradicts {kept}: {}; the higher-ranked source wins: this operator is ignored, the rest of the requirement applies",
            c.op, c.key, c.dropped, c.message
        ),
        source: Some(c.dropped.source),
        location: Some(c.dropped.location.clone()),
        key: Some(c.key.clone()),
        operator: Some(c.op.to_owned()),
    }
}

/// The value held when managed policy could not be applied: never looser
/// than the policy it replaces.
///
/// - A setting with a lockdown value holds it; for a list merged by union
///   (deny lists such as `network.denied_domains`), every element an
///   accepted layer requires is added, even one a conflict dropped (command
///   rules only when they prompt or forbid), and a list's elements the
///   accepted requirements refuse are dropped.
/// - A setting whose lockdown is "unset" (no value is safe everywhere) takes
///   the first value the accepted managed layers propose that their
///   requirements admit, else the strictest value those requirements allow,
///   else stays unset.
///
/// Unmanaged proposals are all refused.
fn lockdown_report(
    setting: &Setting,
    req: &Requirement,
    constraints: &[&crate::constraint::Constraint],
    candidates: &[Candidate],
) -> Option<KeyReport> {
    // A value the accepted managed layers propose and their requirements
    // admit (what an unset lockdown, or a free string such as a log path,
    // falls back to).
    let managed = || {
        candidates.iter().find_map(|c| {
            if !c.source.is_managed() {
                return None;
            }
            let v = setting.canonical(c.value).ok()?;
            req.refusal(&v)
                .is_none()
                .then(|| (v, c.location.noted("kept in lockdown")))
        })
    };
    let schema_value = Location::described("lockdown value of the schema");
    let (value, location) = match &setting.lockdown {
        Some(Value::Array(items)) => {
            let mut kept = UniqueValues::default();
            for item in items {
                if req.item_refusal(item).is_none() {
                    kept.insert(item);
                }
            }
            if setting.merge == ListMerge::Union {
                // Every element an accepted layer requires, even one a
                // conflict dropped: in lockdown more denied is stricter.
                let required = constraints.iter().flat_map(|c| c.includes.iter());
                for inc in req.includes().chain(required) {
                    let prompts = inc
                        .get("decision")
                        .and_then(Value::as_str)
                        .is_none_or(|d| d != "allow");
                    if setting.value_kind != ValueKind::Command || prompts {
                        kept.insert(inc);
                    }
                }
            }
            let kept = Value::Array(kept.into_vec());
            let location = if &kept == setting.lockdown.as_ref().unwrap_or(&Value::Null) {
                schema_value
            } else {
                Location::described("lockdown value of the schema and the accepted requirements")
            };
            (kept, location)
        }
        // Ordered values and booleans: the lockdown value is the strictest.
        Some(v) if setting.finite_domain().is_some() || setting.kind != Kind::String => {
            (v.clone(), schema_value)
        }
        Some(v) => managed().unwrap_or((v.clone(), schema_value)),
        None => match managed() {
            Some(found) => found,
            None if !req.is_empty() => (
                req.strictest()?,
                Location::described(
                    "the strictest value the accepted requirements allow (lockdown)",
                ),
            ),
            None => return None,
        },
    };
    let kept_from =
        |c: &Candidate| location.note().is_some() && location.without_note() == *c.location;
    let rejected = candidates
        .iter()
        .filter(|c| !kept_from(c))
        .map(|c| Rejected {
            value: c.value.clone(),
            source: c.source.name().into(),
            location: c.location.clone(),
            reason:
                "managed policy could not be applied: every setting is held at its lockdown value"
                    .into(),
            constraint: None,
        })
        .collect();
    Some(KeyReport {
        value,
        source: "lockdown".into(),
        location,
        locked: true,
        constraint: (!req.is_empty()).then(|| req.to_json()),
        rejected,
        overridden: Vec::new(),
        merged: Vec::new(),
        constraint_lines: vec!["lockdown: managed policy could not be read or verified".into()],
    })
}

/// Why a proposal that lost to a higher one would have been refused on its
/// own (a list: its first refused element), if it would.
fn lower_refusal(
    schema: &Schema,
    setting: &Setting,
    req: &Requirement,
    c: &Candidate,
) -> Option<Refusal> {
    if req.is_empty() {
        return setting
            .canonical(c.value)
            .err()
            .map(|e| kind_refusal(schema, e));
    }
    let value = match setting.canonical(c.value) {
        Ok(v) => v,
        Err(e) => return Some(kind_refusal(schema, e)),
    };
    if setting.kind == Kind::Array {
        return match req.repair(value.as_array().map_or(&[][..], Vec::as_slice)) {
            Ok((_, removed)) => removed.into_iter().next().map(|(_, r)| r),
            Err(r) => Some(r),
        };
    }
    req.refusal(&value)
}

/// The refusal of a value its kind cannot make sense of (`/../etc`, `a b.com`).
fn kind_refusal(schema: &Schema, e: crate::kind::KindError) -> Refusal {
    Refusal {
        op: "kind",
        reason: e.to_string(),
        setter: Setter {
            source: SourceKind::Default,
            location: schema.location(),
        },
    }
}

fn refused(c: &Candidate, r: Refusal, value: Value) -> Rejected {
    Rejected {
        value,
        source: c.source.name().into(),
        location: c.location.clone(),
        reason: r.reason,
        constraint: Some(RefusedBy {
            op: r.op.into(),
            source: r.setter.source,
            location: r.setter.location.clone(),
        }),
    }
}

/// Resolves one setting from its candidates, highest first. `lists` holds,
/// beside each candidate, the list a union takes from its layer.
fn resolve_key(
    schema: &Schema,
    setting: &Setting,
    req: &Requirement,
    candidates: &[Candidate],
    lists: Vec<Option<Value>>,
    detail: Detail,
) -> Option<KeyReport> {
    let schema_location = schema.location();
    let requirement_default = req.default_value().map(|(v, s)| (v.clone(), s.clone()));
    // The strictest admissible value is a fallback only where managed policy
    // constrains the setting; a pinned value is named where it was pinned.
    let strictest = if req.is_empty() {
        None
    } else {
        req.strictest()
    };
    let req_setter = req.setters().into_iter().next();
    let strictest_location = match (req.pinned_setter(), &req_setter) {
        (Some(pin), _) => pin.location.clone(),
        (None, _) => Location::described("the strictest value the requirements allow"),
    };
    // The fallbacks, in order, after the layers' own proposals.
    let fallbacks: Vec<Candidate> = requirement_default
        .iter()
        .map(|(v, s)| Candidate {
            value: v,
            source: s.source,
            location: &s.location,
            origin: None,
        })
        .chain(setting.default.iter().map(|v| Candidate {
            value: v,
            source: SourceKind::Default,
            location: &schema_location,
            origin: None,
        }))
        .chain(strictest.iter().map(|v| {
            Candidate {
                value: v,
                source: req
                    .pinned_setter()
                    .or(req_setter.as_ref())
                    .map_or(SourceKind::Default, |s| s.source),
                location: &strictest_location,
                origin: None,
            }
        }))
        .collect();

    let mut rejected = Vec::new();
    let mut overridden = Vec::new();
    let mut merged = Vec::new();
    let mut winner: Option<(Value, &Candidate)> = None;

    let union = setting.merges_by_union() && !candidates.is_empty();
    if union {
        // Every layer's elements apply; the highest contributor is named as
        // the source, and each element is attributed to the first layer
        // that proposed it (kept beside the de-duplicated list, not rescanned).
        let total = lists
            .iter()
            .map(|l| l.as_ref().and_then(Value::as_array).map_or(0, Vec::len))
            .sum();
        let mut unique = UniqueValues::with_capacity(total);
        let mut owner: Vec<usize> = Vec::with_capacity(total);
        for (n, (c, list)) in candidates.iter().zip(lists).enumerate() {
            // Every list was taken (`resolve_stack`); a value of another
            // type proposes no element.
            let items = match list {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            if detail == Detail::Full {
                merged.push(Overridden {
                    value: Value::Array(items.clone()),
                    source: c.source.name().into(),
                    location: c.location.clone(),
                });
            }
            for item in items {
                match setting.canonical_item_owned(item) {
                    Ok(item) => {
                        if unique.insert_owned(item) {
                            owner.push(n);
                        }
                    }
                    Err((e, item)) => rejected.push(refused(c, kind_refusal(schema, e), item)),
                }
            }
        }
        let head = &candidates[0];
        let all = unique.into_vec();
        // Without repeats and unconstrained, the union is the result as it is.
        let repaired = if req.is_empty() {
            Ok((all, Vec::new()))
        } else {
            req.repair_owned(all)
        };
        match repaired {
            Ok((repaired, removed)) => {
                rejected.extend(
                    removed
                        .into_iter()
                        .map(|(i, item, r)| refused(&candidates[owner[i]], r, item)),
                );
                winner = Some((Value::Array(repaired), head));
            }
            Err(e) => {
                let (r, all) = *e;
                rejected.push(refused(head, r, Value::Array(all)));
            }
        }
    }
    if winner.is_none() {
        let tail = if union { &[][..] } else { candidates };
        for c in tail.iter().chain(&fallbacks) {
            if let Some((_, w)) = &winner {
                if w.source != c.source || w.location != c.location {
                    // A lower proposal that breaks a requirement is refused,
                    // not merely overridden: its author should learn so.
                    match lower_refusal(schema, setting, req, c) {
                        Some(r) if c.source != SourceKind::Default => {
                            rejected.push(refused(c, r, c.value.clone()));
                        }
                        _ if detail == Detail::Values => {}
                        _ => overridden.push(Overridden {
                            value: c.value.clone(),
                            source: c.source.name().into(),
                            location: c.location.clone(),
                        }),
                    }
                }
                continue;
            }
            // Judged in the canonical form the agent gives the value; a list
            // element its kind cannot read is removed like any refused one.
            if setting.kind == Kind::Array
                && let Some(items) = c.value.as_array()
            {
                let mut readable = Vec::with_capacity(items.len());
                for item in items {
                    match setting.canonical_item(item) {
                        Ok(v) => readable.push(v),
                        Err(_) if c.source == SourceKind::Default => {}
                        Err(e) => rejected.push(refused(c, kind_refusal(schema, e), item.clone())),
                    }
                }
                match req.repair_owned(readable) {
                    Ok((repaired, removed)) => {
                        rejected
                            .extend(removed.into_iter().map(|(_, item, r)| refused(c, r, item)));
                        winner = Some((Value::Array(repaired), c));
                    }
                    Err(_) if c.source == SourceKind::Default => {}
                    Err(e) => rejected.push(refused(c, e.0, c.value.clone())),
                }
                continue;
            }
            let value = match setting.canonical(c.value) {
                Ok(v) => v,
                Err(_) if c.source == SourceKind::Default => continue,
                Err(e) => {
                    rejected.push(refused(c, kind_refusal(schema, e), c.value.clone()));
                    continue;
                }
            };
            match req.refusal(&value) {
                None => winner = Some((value, c)),
                // A schema default that policy refuses is not news: only proposals are reported.
                Some(_) if c.source == SourceKind::Default => {}
                Some(r) => rejected.push(refused(c, r, c.value.clone())),
            }
        }
    }
    // Only fallbacks past the winner are noise: keep layer proposals only.
    overridden.retain(|o| o.location != schema_location && o.location != strictest_location);
    let Some((value, from)) = winner else {
        // Nothing complies: the setting is unset, but what was refused and
        // why stays on record (`explain`, `check`, `show --json`).
        if rejected.is_empty() {
            return None;
        }
        return Some(KeyReport {
            value: Value::Null,
            source: "unset".into(),
            location: Location::described("no proposal complies with the requirement"),
            locked: req.is_locked(),
            constraint: (!req.is_empty()).then(|| req.to_json()),
            rejected,
            overridden,
            merged,
            constraint_lines: req.describe(),
        });
    };
    let constraint = (!req.is_empty()).then(|| req.to_json());
    // A schema default that policy pins, or that policy's `includes` filled,
    // is policy's value: name the requirement, not the schema.
    let setter = if from.source != SourceKind::Default {
        None
    } else if req.is_locked() && req.pinned_setter().is_some() {
        req.pinned_setter()
    } else if &value != from.value {
        req.includes_setter()
    } else {
        None
    };
    let (source, location) = match setter {
        Some(s) => (s.source.name().to_owned(), s.location.clone()),
        None => (from.source.name().to_owned(), from.location.clone()),
    };
    Some(KeyReport {
        value,
        source,
        location,
        locked: req.is_locked(),
        constraint,
        rejected,
        overridden,
        merged,
        constraint_lines: req.describe(),
    })
}

impl Effective {
    /// The effective settings as a nested table: every setting that has a
    /// value, by its dotted key (`sandbox.mode` is `{"sandbox": {"mode": …}}`).
    pub fn settings(&self) -> Value {
        // The table serialization writes, as a value: one way to nest.
        Value::from(serde_json::to_value(Nested::of(&self.keys)).unwrap_or_default())
    }
}

impl Serialize for Effective {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Effective", 9)?;
        s.serialize_field("domain", &self.domain)?;
        s.serialize_field("status", &self.status)?;
        s.serialize_field("root", &self.root)?;
        s.serialize_field("digest", &self.digest)?;
        s.serialize_field("settings", &Nested::of(&self.keys))?;
        s.serialize_field("keys", &self.keys)?;
        s.serialize_field("trust", &self.trust)?;
        s.serialize_field("sources", &self.sources)?;
        s.serialize_field("diagnostics", &self.diagnostics)?;
        s.end()
    }
}

/// The settings table as a view of `keys`: the values are borrowed, only
/// the nesting is built.
enum Nested<'a> {
    Leaf(&'a Value),
    Table(BTreeMap<&'a str, Nested<'a>>),
}

impl<'a> Nested<'a> {
    /// Every set value of `keys`, nested by the parts of its dotted key (a
    /// key under one that holds a value is left out; a value replaces a table).
    fn of(keys: &'a BTreeMap<String, KeyReport>) -> Nested<'a> {
        let mut root = BTreeMap::new();
        for (key, report) in keys.iter().filter(|(_, r)| !r.value.is_null()) {
            let mut table = &mut root;
            let mut parts = key.split('.').peekable();
            while let Some(part) = parts.next() {
                if parts.peek().is_none() {
                    table.insert(part, Nested::Leaf(&report.value));
                    break;
                }
                match table
                    .entry(part)
                    .or_insert_with(|| Nested::Table(BTreeMap::new()))
                {
                    Nested::Table(inner) => table = inner,
                    Nested::Leaf(_) => break,
                }
            }
        }
        Nested::Table(root)
    }
}

impl Serialize for Nested<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Nested::Leaf(v) => v.serialize(serializer),
            Nested::Table(entries) => serializer.collect_map(entries),
        }
    }
}

/// Writes `value` as canonical JSON: object keys sorted, no spaces.
///
/// That is the compact JSON of `serde_json` (`Value::to_string`), since a
/// `Map` iterates in key order (`map_hash_ignores_insertion_order` in
/// `constraint` holds it to that).
pub fn canonical_json(value: &Value, out: &mut String) {
    // Writing a `Value` to a `Vec` cannot fail, and JSON is UTF-8, so this
    // never replaces anything.
    let bytes = crate::json::to_vec(value).unwrap_or_default();
    out.push_str(&String::from_utf8_lossy(&bytes));
}

/// `sha256:<hex>` over the canonical JSON of `settings`.
pub fn digest(settings: &Value) -> String {
    canonical_digest(settings)
}

/// `sha256:<hex>` over the canonical JSON of `value` (keys in order, no
/// spaces), hashed block by block as it is written, never whole in memory.
fn canonical_digest<T: Serialize + ?Sized>(value: &T) -> String {
    /// A writer that hashes what it is given.
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(Sha256::new());
    // Neither a hash nor the values (string keys, no custom `Serialize`)
    // can fail.
    let _ = crate::json::to_writer(&mut hashing, value);
    format!("sha256:{}", hex(&hashing.0.finalize()))
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
