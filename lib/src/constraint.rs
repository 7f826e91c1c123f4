//! Constraint operators, and how the requirements of several managed layers
//! combine into one [`Requirement`] per setting.
//!
//! | operator   | applies to              | a value complies when …                          | combined across layers      |
//! |------------|-------------------------|--------------------------------------------------|-----------------------------|
//! | `value`    | any                     | it equals the pinned value                       | must agree, else conflict   |
//! | `allowed`  | any                     | it is one of the listed values                   | intersection                |
//! | `denied`   | any                     | it is none of the listed values                  | union                       |
//! | `min`      | ordered enums, numbers  | it is at least as loose / large as the bound     | the larger bound            |
//! | `max`      | ordered enums, numbers  | it is at most as loose / large as the bound      | the smaller bound           |
//! | `pattern`  | strings, string lists   | it (each element) matches the regular expression | all patterns apply          |
//! | `includes` | lists                   | it contains every listed element (added if not)  | union                       |
//! | `within`   | lists                   | each element matches a listed glob (else removed)| every layer's list applies  |
//! | `excludes` | lists                   | it contains none of the listed elements (removed)| union                       |
//! | `default`  | any                     | (names the fallback value)                       | the highest layer's         |
//!
//! When adding a lower layer's constraint would leave no admissible value,
//! that constraint is dropped for the key and a conflict is reported: the
//! higher-ranked source wins.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use crate::value::{Map, Value};
use regex::Regex;
use serde::Serialize;

use crate::kind::{KindContext, Norm, NormSet, ValueKind};
use crate::schema::{Kind, Setting, join_values, join_values_short};
use crate::source::{Location, SourceKind};

/// Every operator name, in the order they are checked and shown.
pub const OPERATORS: [&str; 10] = [
    "value", "allowed", "denied", "min", "max", "pattern", "includes", "within", "excludes",
    "default",
];

/// A regular expression from a `pattern` operator, matched against whole strings.
#[derive(Clone, Debug)]
pub struct Pattern {
    /// The expression as written.
    pub source: String,
    regex: Regex,
}

impl Pattern {
    /// Compiles `source`, anchored at both ends.
    pub fn new(source: &str) -> Result<Pattern, regex::Error> {
        // Policies repeat their patterns (one per setting, across layers):
        // each is compiled once per process. A clone shares the compiled
        // program. The cache is small and starts over when full.
        static COMPILED: OnceLock<Mutex<HashMap<String, Regex>>> = OnceLock::new();
        let compiled = COMPILED.get_or_init(Mutex::default);
        let cached = compiled.lock().ok().and_then(|c| c.get(source).cloned());
        let regex = match cached {
            Some(regex) => regex,
            None => {
                let regex = regex::RegexBuilder::new(&format!("^(?:{source})$"))
                    .size_limit(1 << 20)
                    .build()?;
                if let Ok(mut c) = compiled.lock() {
                    if c.len() >= 256 {
                        c.clear();
                    }
                    c.insert(source.to_owned(), regex.clone());
                }
                regex
            }
        };
        Ok(Pattern {
            source: source.to_owned(),
            regex,
        })
    }

    /// Whether `text` matches as a whole.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

/// The constraint one managed layer sets on one setting.
#[derive(Clone, Debug, Default)]
pub struct Constraint {
    /// `value`: the pinned value.
    pub value: Option<Value>,
    /// `allowed`: the admissible values.
    pub allowed: Option<Vec<Value>>,
    /// `denied`: values that are refused.
    pub denied: Vec<Value>,
    /// `min`: the lower bound.
    pub min: Option<Value>,
    /// `max`: the upper bound.
    pub max: Option<Value>,
    /// `pattern`: a regular expression.
    pub pattern: Option<Pattern>,
    /// `includes`: elements a list must contain.
    pub includes: Vec<Value>,
    /// `within`: what list elements may be (string elements match as globs).
    pub within: Option<Arc<[Value]>>,
    /// `excludes`: elements a list must not contain.
    pub excludes: Vec<Value>,
    /// `default`: the fallback value.
    pub default: Option<Value>,
}

/// A constraint that does not fit its setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintError {
    /// The operator at fault, when one is.
    pub op: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ConstraintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Constraint {
    /// Parses a constraint table (`{ allowed = [...], default = ... }`) for `setting`.
    pub fn from_table(setting: &Setting, table: &Map) -> Result<Constraint, ConstraintError> {
        Constraint::from_owned_table(setting, table.clone())
    }

    /// [`Constraint::from_table`] of a table it may take apart: the entries
    /// of a long `within` list are moved, not copied.
    pub fn from_owned_table(setting: &Setting, table: Map) -> Result<Constraint, ConstraintError> {
        let mut c = Constraint::default();
        if table.is_empty() {
            return Err(ConstraintError {
                op: None,
                message: format!(
                    "empty constraint for \"{}\": use one of {}",
                    setting.key,
                    OPERATORS.join(", ")
                ),
            });
        }
        for (op, operand) in table {
            let err = |message: String| ConstraintError {
                op: Some(op.clone()),
                message,
            };
            let list = |what: &str| -> Result<&Vec<Value>, ConstraintError> {
                operand
                    .as_array()
                    .ok_or_else(|| err(format!("`{op}` takes a list of {what}")))
            };
            let is_list = setting.kind == Kind::Array;
            let needs_list = |c: &Constraint| -> Result<(), ConstraintError> {
                let _ = c;
                if is_list {
                    Ok(())
                } else {
                    Err(err(format!(
                        "`{op}` applies to lists only, and \"{}\" is {}",
                        setting.key,
                        setting.kind.noun()
                    )))
                }
            };
            // Operands are checked against the schema, then held in their
            // canonical form (crate::kind): what every comparison uses.
            let check_value = |v: &Value| -> Result<Value, ConstraintError> {
                setting.check(v).map_err(|e| {
                    err(format!(
                        "`{op}` value {v} is not valid for \"{}\": {e}",
                        setting.key
                    ))
                })?;
                setting
                    .canonical(v)
                    .map_err(|e| err(format!("`{op}` value for \"{}\": {e}", setting.key)))
            };
            let check_item = |v: &Value| -> Result<Value, ConstraintError> {
                setting.check_item(v).map_err(|e| {
                    err(format!(
                        "`{op}` element {v} is not valid for \"{}\": {e}",
                        setting.key
                    ))
                })?;
                setting
                    .canonical_item(v)
                    .map_err(|e| err(format!("`{op}` element for \"{}\": {e}", setting.key)))
            };
            match op.as_str() {
                "value" => {
                    c.value = Some(check_value(&operand)?);
                }
                "default" => {
                    c.default = Some(check_value(&operand)?);
                }
                "allowed" | "denied" => {
                    let values = list("values")?
                        .iter()
                        .map(&check_value)
                        .collect::<Result<Vec<_>, _>>()?;
                    if op == "allowed" {
                        c.allowed = Some(values);
                    } else {
                        c.denied = values;
                    }
                }
                "min" | "max" => {
                    if !setting.is_ordered() {
                        return Err(err(format!(
                            "`{op}` needs an ordered setting (an enum with x-mandate-order, or a number), and \"{}\" is not one; use `allowed` instead",
                            setting.key
                        )));
                    }
                    let bound = check_value(&operand)?;
                    if op == "min" {
                        c.min = Some(bound);
                    } else {
                        c.max = Some(bound);
                    }
                }
                "pattern" => {
                    let item_is_string =
                        setting.kind == Kind::String || setting.items_are_strings();
                    if !item_is_string {
                        return Err(err(format!(
                            "`pattern` applies to strings and lists of strings, and \"{}\" is {}",
                            setting.key,
                            setting.kind.noun()
                        )));
                    }
                    let source = operand.as_str().ok_or_else(|| {
                        err("`pattern` takes a regular expression as a string".into())
                    })?;
                    c.pattern = Some(Pattern::new(source).map_err(|e| {
                        err(format!("`pattern` is not a valid regular expression: {e}"))
                    })?);
                }
                "includes" | "excludes" => {
                    needs_list(&c)?;
                    let values = list("elements")?
                        .iter()
                        .map(&check_item)
                        .collect::<Result<Vec<_>, _>>()?;
                    if op == "includes" {
                        c.includes = values;
                    } else {
                        c.excludes = values;
                    }
                }
                "within" => {
                    needs_list(&c)?;
                    // Entries may be patterns the elements' schema refuses
                    // (`*.x`, `/x/*`), so they are only made canonical.
                    let Value::Array(entries) = operand else {
                        return Err(err(format!(
                            "`{op}` takes a list of elements or glob patterns"
                        )));
                    };
                    let entries = entries
                        .into_iter()
                        .map(|v| {
                            setting.canonical_item_owned(v).map_err(|(e, _)| {
                                err(format!("`within` entry for \"{}\": {e}", setting.key))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    c.within = Some(entries.into());
                }
                other => {
                    let hint = OPERATORS
                        .iter()
                        .map(|o| (strsim::levenshtein(o, other), o))
                        .min()
                        .filter(|(d, _)| *d <= 3)
                        .map(|(_, o)| format!(" (did you mean `{o}`?)"))
                        .unwrap_or_default();
                    return Err(err(format!(
                        "unknown operator `{other}` for \"{}\"{hint}; operators are {}",
                        setting.key,
                        OPERATORS.join(", ")
                    )));
                }
            }
        }
        Ok(c)
    }
}

/// Who set a constraint: the source and the exact location.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Setter {
    /// The source.
    pub source: SourceKind,
    /// The file and line, or plist key path, or URL.
    #[serde(flatten)]
    pub location: Location,
}

impl fmt::Display for Setter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.source, self.location)
    }
}

/// A value refused by a requirement: which operator, and who set it.
#[derive(Clone, Debug, Serialize)]
pub struct Refusal {
    /// The operator that refused it.
    pub op: &'static str,
    /// A sentence for people: `not in allowed set ["read-only"] required by mdm`.
    pub reason: String,
    /// Who set the operator.
    pub setter: Setter,
}

/// List elements removed by a repair, each with why.
pub type Removed = Vec<(Value, Refusal)>;

/// A repaired list, and the elements removed from it, each with its
/// position in the list as given and why ([`Requirement::repair_owned`]).
pub type Repaired = (Vec<Value>, Vec<(usize, Value, Refusal)>);

/// A constraint that was dropped because it contradicts a higher-ranked one.
#[derive(Clone, Debug, Serialize)]
pub struct Conflict {
    /// The setting.
    pub key: String,
    /// The operator that was not added (the rest of its constraint was).
    pub op: &'static str,
    /// The dropped constraint's setter.
    pub dropped: Setter,
    /// The setters of the constraints that won.
    pub kept: Vec<Setter>,
    /// What contradicts what.
    pub message: String,
}

#[derive(Clone, Debug)]
struct Bound<T> {
    value: T,
    setter: Setter,
}

fn bound(value: Value, setter: &Setter) -> Bound<Value> {
    Bound {
        value,
        setter: setter.clone(),
    }
}

/// A refusal found, before its message is written (most checks only need
/// to know whether a value is refused).
struct Found<'a> {
    op: &'static str,
    why: Why<'a>,
    /// Who set the operator (`None` only for an `allowed` set nobody set).
    setter: Option<&'a Setter>,
}

/// Which check refused, with what the message names.
enum Why<'a> {
    NotPinned(&'a Value),
    NotAllowed(&'a [Value]),
    Denied,
    BelowMin(&'a Value),
    AboveMax(&'a Value),
    NoMatch(&'a Pattern),
    Missing(&'a Value),
    Excluded(&'a Value, &'a Value),
    NotWithin(&'a Value, &'a Within),
    ItemNoMatch(&'a Value, &'a Pattern),
}

impl Found<'_> {
    /// The refusal with its message: `not in allowed set ["read-only"] required by mdm`.
    fn refusal(self) -> Refusal {
        use fmt::Write as _;
        let setter = self.setter.cloned().unwrap_or_else(unreachable_setter);
        // One string, written in place: a long list can have thousands of
        // removals, each with its message.
        let mut reason = String::new();
        let _ = match self.why {
            Why::NotPinned(pinned) => write!(reason, "not the pinned value {pinned}"),
            Why::NotAllowed(allowed) => {
                write!(
                    reason,
                    "not in allowed set [{}]",
                    join_values_short(allowed)
                )
            }
            Why::Denied => reason.write_str("denied"),
            Why::BelowMin(min) => write!(reason, "below the minimum {min}"),
            Why::AboveMax(max) => write!(reason, "above the maximum {max}"),
            Why::NoMatch(p) => write!(reason, "does not match pattern {:?}", p.source),
            Why::Missing(element) => write!(reason, "does not include {element}"),
            Why::Excluded(item, entry) if item == entry => write!(reason, "{item} is excluded"),
            Why::Excluded(item, entry) => {
                write!(reason, "{item} is excluded (it covers {entry})")
            }
            Why::NotWithin(item, within) => {
                write!(reason, "{item} is not within [{}]", within.joined())
            }
            Why::ItemNoMatch(item, p) => {
                write!(reason, "{item} does not match pattern {:?}", p.source)
            }
        };
        let _ = write!(reason, " required by {}", setter.source);
        Refusal {
            op: self.op,
            reason,
            setter,
        }
    }
}

/// A `within` list, indexed by value kind ([`NormSet`]): an element is
/// admitted when some entry's set covers the element's set, so
/// `/home/ana/src/../.ssh` is not within `/home/ana/src/*` and
/// `*.eu.npmjs.org` is within `*.npmjs.org`. Checking one element walks its
/// ancestors instead of trying every entry.
#[derive(Debug)]
struct Within {
    /// The entries as written (canonical), shared with the constraint.
    values: Arc<[Value]>,
    set: NormSet<()>,
    /// `join_values_short(&values)`, made once for messages.
    joined: OnceLock<String>,
}

impl Within {
    fn new(values: Arc<[Value]>, kind: ValueKind, cx: &KindContext) -> Within {
        let mut set = NormSet::with_capacity(values.len());
        for v in values.iter() {
            set.insert(Norm::of(kind, v, cx), ());
        }
        Within {
            values,
            set,
            joined: OnceLock::new(),
        }
    }

    /// The entries as messages show them: `"a", "*.b"`.
    fn joined(&self) -> &str {
        self.joined.get_or_init(|| join_values_short(&self.values))
    }

    /// Whether an element (placed in its kind's tree) may stay in the list.
    fn admits(&self, item: &Norm) -> bool {
        self.set.covering(item).is_some()
    }
}

/// A list of values without repeats, in the order first seen. Membership is
/// `Value` equality, as with `Vec::contains`, but found through a hash
/// instead of a scan, so removing repeats from a long list stays linear.
#[derive(Clone, Debug)]
pub(crate) struct UniqueValues<V = Value> {
    items: Vec<V>,
    /// The hash of a value to the last item with that hash.
    heads: HashMap<u64, usize, BuildHasherDefault<Prehashed>>,
    /// For each item, the previous item with the same hash.
    chain: Vec<Option<usize>>,
}

impl<V> Default for UniqueValues<V> {
    fn default() -> UniqueValues<V> {
        UniqueValues::with_capacity(0)
    }
}

impl<V> UniqueValues<V> {
    /// An empty list with room for `n` values: a list whose length is known
    /// is not grown (and copied) step by step.
    pub(crate) fn with_capacity(n: usize) -> UniqueValues<V> {
        UniqueValues {
            items: Vec::with_capacity(n),
            heads: HashMap::with_capacity_and_hasher(n, BuildHasherDefault::default()),
            chain: Vec::with_capacity(n),
        }
    }
}

impl UniqueValues {
    /// Adds a copy of `value` unless an equal value is already there; says whether it was added.
    pub(crate) fn insert(&mut self, value: &Value) -> bool {
        let hash = value_hash(value);
        if self.find(value, hash).is_some() {
            return false;
        }
        self.push(value.clone(), hash);
        true
    }
}

impl<V: std::borrow::Borrow<Value>> UniqueValues<V> {
    /// Adds `value` unless an equal value is already there; says whether it
    /// was added. Nothing is copied.
    pub(crate) fn insert_owned(&mut self, value: V) -> bool {
        let hash = value_hash(value.borrow());
        if self.find(value.borrow(), hash).is_some() {
            return false;
        }
        self.push(value, hash);
        true
    }

    fn push(&mut self, value: V, hash: u64) {
        let i = self.items.len();
        self.items.push(value);
        self.chain.push(self.heads.insert(hash, i));
    }

    /// Whether an equal value is there.
    pub(crate) fn contains(&self, value: &Value) -> bool {
        self.position(value).is_some()
    }

    /// Where an equal value stands, in the order first seen.
    pub(crate) fn position(&self, value: &Value) -> Option<usize> {
        self.find(value, value_hash(value))
    }

    fn find(&self, value: &Value, hash: u64) -> Option<usize> {
        let mut at = self.heads.get(&hash).copied();
        while let Some(i) = at {
            if self.items[i].borrow() == value {
                return Some(i);
            }
            at = self.chain[i];
        }
        None
    }

    /// How many values there are.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The values, in the order first seen.
    pub(crate) fn into_vec(self) -> Vec<V> {
        self.items
    }
}

/// The hasher of a map whose keys are already hashes ([`value_hash`]): it
/// passes the key through instead of hashing it a second time.
#[derive(Default)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is expected; anything else is folded in, not lost.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}

/// A hash of a JSON value that agrees with `Value` equality: equal values
/// hash alike (unequal ones may collide, as `1` and `1.0` do).
///
/// The value is first written into a reused buffer (a tag and a length
/// before each part, so that two values write the same bytes only when
/// they are equal, or are numbers with the same `f64` image), then hashed
/// in one call: a dozen small writes to the hasher cost more than the
/// whole value at once.
pub(crate) fn value_hash(value: &Value) -> u64 {
    fn feed(value: &Value, out: &mut Vec<u8>) {
        let len = |out: &mut Vec<u8>, n: usize| out.extend_from_slice(&(n as u64).to_le_bytes());
        match value {
            Value::Null => out.push(0),
            Value::Bool(b) => out.extend_from_slice(&[1, u8::from(*b)]),
            Value::Number(n) => {
                out.push(2);
                // Equal numbers have equal f64 images; 0.0 and -0.0 are equal.
                let f = n.as_f64().unwrap_or(0.0);
                let bits = if f == 0.0 { 0 } else { f.to_bits() };
                out.extend_from_slice(&bits.to_le_bytes());
            }
            Value::String(s) => {
                out.push(3);
                len(out, s.len());
                out.extend_from_slice(s.as_bytes());
            }
            Value::Array(items) => {
                out.push(4);
                len(out, items.len());
                items.iter().for_each(|v| feed(v, out));
            }
            Value::Object(map) => {
                out.push(5);
                len(out, map.len());
                // `Map` iterates in key order whatever the insertion order
                // (`map_hash_ignores_insertion_order` holds it to that), so
                // equal maps write the same bytes.
                for (k, v) in map {
                    len(out, k.len());
                    out.extend_from_slice(k.as_bytes());
                    feed(v, out);
                }
            }
        }
    }
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUFFER.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        buffer.clear();
        feed(value, &mut buffer);
        let mut h = DefaultHasher::new();
        h.write(&buffer);
        // A rare large value does not keep its buffer.
        if buffer.capacity() > 1 << 16 {
            *buffer = Vec::new();
        }
        h.finish()
    })
}

/// The combined requirement on one setting across every accepted managed layer.
///
/// Every operand is held in its canonical form ([`Setting::canonical`]) and
/// every candidate is made canonical before it is judged, so a comparison
/// always means what the agent makes of the value.
#[derive(Debug)]
pub struct Requirement<'s> {
    setting: &'s Setting,
    cx: KindContext,
    pinned: Option<Bound<Value>>,
    allowed: Option<(Vec<Value>, Vec<Setter>)>,
    /// Each layer's own `allowed` list, to name the one that refuses a value.
    allowed_by: Vec<Bound<Vec<Value>>>,
    denied: Vec<Bound<Value>>,
    min: Option<Bound<Value>>,
    max: Option<Bound<Value>>,
    patterns: Vec<Bound<Pattern>>,
    includes: Vec<Bound<Value>>,
    /// The `includes` elements, for repeats and for "does an exclusion meet one".
    includes_seen: UniqueValues,
    includes_index: NormSet<usize>,
    within: Vec<Bound<Arc<Within>>>,
    excludes: Vec<Bound<Value>>,
    excludes_index: NormSet<usize>,
    default: Option<Bound<Value>>,
}

/// An operator of a [`Constraint`] that [`Requirement::tighten`] could not
/// add, because with it nothing (or not that element) would be admissible.
type Refused = (&'static str, String);

impl<'s> Requirement<'s> {
    /// No requirement yet: every valid value complies. `~` in paths is
    /// compared with the home directory of `cx`.
    pub fn new(setting: &'s Setting) -> Requirement<'s> {
        Requirement::with_context(setting, KindContext::default())
    }

    /// [`Requirement::new`] for the user described by `cx`.
    pub fn with_context(setting: &'s Setting, cx: KindContext) -> Requirement<'s> {
        Requirement {
            setting,
            cx,
            pinned: None,
            allowed: None,
            allowed_by: Vec::new(),
            denied: Vec::new(),
            min: None,
            max: None,
            patterns: Vec::new(),
            includes: Vec::new(),
            includes_seen: UniqueValues::default(),
            includes_index: NormSet::new(),
            within: Vec::new(),
            excludes: Vec::new(),
            excludes_index: NormSet::new(),
            default: None,
        }
    }

    /// The setting this requirement is on.
    pub fn setting(&self) -> &'s Setting {
        self.setting
    }

    fn norm(&self, item: &Value) -> Norm {
        Norm::of(self.setting.value_kind, item, &self.cx)
    }

    /// Whether no managed layer constrains the setting.
    pub fn is_empty(&self) -> bool {
        self.pinned.is_none()
            && self
                .allowed
                .as_ref()
                .is_none_or(|(_, setters)| setters.is_empty())
            && self.denied.is_empty()
            && self.min.is_none()
            && self.max.is_none()
            && self.patterns.is_empty()
            && self.includes.is_empty()
            && self.within.is_empty()
            && self.excludes.is_empty()
            && self.default.is_none()
    }

    /// Tightens the requirement with a lower-ranked layer's constraint,
    /// operator by operator (and, for `includes` and `excludes`, element by
    /// element): what would leave no admissible value is not added and comes
    /// back as a conflict; everything else is kept. The higher-ranked
    /// constraints win.
    pub fn tighten(&mut self, c: &Constraint, setter: &Setter) -> Vec<Conflict> {
        let mut refused: Vec<Refused> = Vec::new();
        if let Some(v) = &c.value
            && let Err(why) = self.add_value(v, setter)
        {
            refused.push(("value", why));
        }
        if let Some(allowed) = &c.allowed
            && let Err(why) = self.add_allowed(allowed, setter)
        {
            refused.push(("allowed", why));
        }
        for v in &c.denied {
            if let Err(why) = self.add_denied(v, setter) {
                refused.push(("denied", why));
            }
        }
        if let Some(min) = &c.min
            && let Err(why) = self.add_bound(min, setter, true)
        {
            refused.push(("min", why));
        }
        if let Some(max) = &c.max
            && let Err(why) = self.add_bound(max, setter, false)
        {
            refused.push(("max", why));
        }
        if let Some(p) = &c.pattern
            && let Err(why) = self.add_pattern(p, setter)
        {
            refused.push(("pattern", why));
        }
        for v in &c.includes {
            if let Err(why) = self.add_include(v, setter) {
                refused.push(("includes", why));
            }
        }
        if let Some(w) = &c.within
            && let Err(why) = self.add_within(w, setter)
        {
            refused.push(("within", why));
        }
        for v in &c.excludes {
            if let Err(why) = self.add_exclude(v, setter) {
                refused.push(("excludes", why));
            }
        }
        if self.default.is_none()
            && let Some(d) = &c.default
        {
            self.default = Some(bound(d.clone(), setter));
        }
        if refused.is_empty() {
            return Vec::new();
        }
        let kept = self.setters();
        refused
            .into_iter()
            .map(|(op, message)| Conflict {
                key: self.setting.key.clone(),
                op,
                dropped: setter.clone(),
                kept: kept.clone(),
                message,
            })
            .collect()
    }

    fn add_value(&mut self, v: &Value, setter: &Setter) -> Result<(), String> {
        if let Some(p) = &self.pinned {
            if &p.value == v {
                return Ok(());
            }
            return Err(format!(
                "it pins {v}, and {} pins {}",
                p.setter.source, p.value
            ));
        }
        if let Some(r) = self.refusal(v) {
            return Err(format!("the pinned value {v} is {}", r.reason));
        }
        self.pinned = Some(bound(v.clone(), setter));
        Ok(())
    }

    fn add_allowed(&mut self, allowed: &[Value], setter: &Setter) -> Result<(), String> {
        let mut index = UniqueValues::default();
        allowed.iter().for_each(|v| {
            index.insert(v);
        });
        let next: Vec<Value> = match &self.allowed {
            None => index.clone().into_vec(),
            Some((current, _)) => current
                .iter()
                .filter(|v| index.contains(v))
                .cloned()
                .collect(),
        };
        if next.is_empty() {
            return Err("the allowed sets (or pinned values) have no value in common".into());
        }
        if next.iter().all(|v| self.refuses(v)) {
            return Err(format!(
                "no value of {} complies with every constraint",
                join_values_short(&next)
            ));
        }
        let mut setters = self.allowed.take().map(|(_, s)| s).unwrap_or_default();
        setters.push(setter.clone());
        self.allowed = Some((next, setters));
        self.allowed_by.push(Bound {
            value: allowed.to_vec(),
            setter: setter.clone(),
        });
        Ok(())
    }

    /// Adds a bound, runs `check`, and takes the bound back when the check fails.
    fn try_with<T>(
        &mut self,
        add: impl FnOnce(&mut Self) -> T,
        undo: impl FnOnce(&mut Self, T),
        check: impl FnOnce(&Self) -> Option<String>,
    ) -> Result<(), String> {
        let saved = add(self);
        match check(self) {
            None => Ok(()),
            Some(why) => {
                undo(self, saved);
                Err(why)
            }
        }
    }

    fn add_denied(&mut self, v: &Value, setter: &Setter) -> Result<(), String> {
        self.try_with(
            |r| r.denied.push(bound(v.clone(), setter)),
            |r, ()| {
                r.denied.pop();
            },
            |r| r.contradiction(&format!("denying {v}")),
        )
    }

    fn add_bound(&mut self, v: &Value, setter: &Setter, is_min: bool) -> Result<(), String> {
        let current = if is_min { &self.min } else { &self.max };
        let tighter = current.as_ref().is_none_or(|b| {
            let ord = self.cmp(v, &b.value);
            if is_min { ord.is_gt() } else { ord.is_lt() }
        });
        if !tighter {
            return Ok(());
        }
        self.try_with(
            |r| {
                let slot = if is_min { &mut r.min } else { &mut r.max };
                slot.replace(bound(v.clone(), setter))
            },
            |r, old| {
                *(if is_min { &mut r.min } else { &mut r.max }) = old;
            },
            |r| {
                if let (Some(min), Some(max)) = (&r.min, &r.max)
                    && r.cmp(&min.value, &max.value).is_gt()
                {
                    return Some(format!("min {} is above max {}", min.value, max.value));
                }
                r.contradiction(&format!("{} {v}", if is_min { "min" } else { "max" }))
            },
        )
    }

    fn add_pattern(&mut self, p: &Pattern, setter: &Setter) -> Result<(), String> {
        self.try_with(
            |r| {
                r.patterns.push(Bound {
                    value: p.clone(),
                    setter: setter.clone(),
                })
            },
            |r, ()| {
                r.patterns.pop();
            },
            |r| {
                if r.setting.kind == Kind::Array
                    && let Some(inc) = r
                        .includes
                        .iter()
                        .find(|i| i.value.as_str().is_some_and(|s| !p.is_match(s)))
                {
                    return Some(format!(
                        "required element {} does not match pattern {:?}",
                        inc.value, p.source
                    ));
                }
                r.contradiction(&format!("pattern {:?}", p.source))
            },
        )
    }

    fn add_include(&mut self, v: &Value, setter: &Setter) -> Result<(), String> {
        if self.includes_seen.contains(v) {
            return Ok(());
        }
        if let Some(r) = self.item_refusal(v) {
            return Err(format!("required element {v} is {}", r.reason));
        }
        if let Some(p) = &self.pinned
            && p.value.as_array().is_some_and(|a| !a.contains(v))
        {
            return Err(format!(
                "required element {v} is not in the pinned list {}",
                p.value
            ));
        }
        if let Some((allowed, _)) = &self.allowed
            && !allowed
                .iter()
                .any(|list| list.as_array().is_some_and(|a| a.contains(v)) && !self.refuses(list))
        {
            return Err(format!(
                "required element {v} is in no allowed list of {}",
                join_values_short(allowed)
            ));
        }
        self.includes_seen.insert(v);
        self.includes_index
            .insert(self.norm(v), self.includes.len());
        self.includes.push(bound(v.clone(), setter));
        Ok(())
    }

    fn add_within(&mut self, entries: &Arc<[Value]>, setter: &Setter) -> Result<(), String> {
        let w = Within::new(entries.clone(), self.setting.value_kind, &self.cx);
        if let Some(inc) = self
            .includes
            .iter()
            .find(|i| !w.admits(&self.norm(&i.value)))
        {
            return Err(format!(
                "required element {} is not within [{}]",
                inc.value,
                w.joined()
            ));
        }
        if let Some(p) = &self.pinned
            && let Some(item) = p
                .value
                .as_array()
                .into_iter()
                .flatten()
                .find(|i| !w.admits(&self.norm(i)))
        {
            return Err(format!(
                "the pinned list holds {item}, which is not within [{}]",
                w.joined()
            ));
        }
        let joined = w.joined().to_owned();
        self.try_with(
            |r| {
                r.within.push(Bound {
                    value: Arc::new(w),
                    setter: setter.clone(),
                })
            },
            |r, ()| {
                r.within.pop();
            },
            |r| r.contradiction(&format!("within [{joined}]")),
        )
    }

    fn add_exclude(&mut self, v: &Value, setter: &Setter) -> Result<(), String> {
        let norm = self.norm(v);
        if let Some(&i) = self.includes_index.meeting(&norm) {
            return Err(format!(
                "excluding {v} would remove the required element {}",
                self.includes[i].value
            ));
        }
        if let Some(p) = &self.pinned
            && let Some(item) = p
                .value
                .as_array()
                .into_iter()
                .flatten()
                .find(|i| self.norm(i).intersects(&norm))
        {
            return Err(format!(
                "excluding {v} would remove {item} from the pinned list"
            ));
        }
        self.try_with(
            |r| {
                r.excludes_index.insert(norm, r.excludes.len());
                r.excludes.push(bound(v.clone(), setter));
            },
            |r, ()| {
                r.excludes_index.pop();
                r.excludes.pop();
            },
            |r| r.contradiction(&format!("excluding {v}")),
        )
    }

    fn cmp(&self, a: &Value, b: &Value) -> std::cmp::Ordering {
        if let (Some(a), Some(b)) = (self.setting.rank(a), self.setting.rank(b)) {
            return a.cmp(&b);
        }
        let (a, b) = (
            a.as_f64().unwrap_or(f64::NAN),
            b.as_f64().unwrap_or(f64::NAN),
        );
        a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal)
    }

    /// Why no value can comply after `what` was added, if none can: the
    /// pinned value is refused, or every value of a finite domain (or of the
    /// allowed set) is. A free string or a list can always comply (lists are
    /// repaired), unless only some allowed lists may be used.
    fn contradiction(&self, what: &str) -> Option<String> {
        if let Some(p) = &self.pinned
            && let Some(r) = self.refusal(&p.value)
        {
            return Some(format!(
                "with {what}, the pinned value {} is {}",
                p.value, r.reason
            ));
        }
        let candidates = match &self.allowed {
            Some((allowed, _)) => allowed.clone(),
            None if self.setting.kind == Kind::Array => return None,
            None => self.setting.finite_domain()?,
        };
        if candidates.iter().all(|v| self.refuses(v)) {
            return Some(format!(
                "with {what}, no value of {} complies with every constraint",
                join_values_short(&candidates)
            ));
        }
        None
    }

    /// Why `value` (canonical, see [`Setting::canonical`]) is refused as a
    /// whole, or `None` when it complies (for lists: after repair would not
    /// be needed).
    pub fn refusal(&self, value: &Value) -> Option<Refusal> {
        self.refusal_after(value, None)
    }

    /// Whether `value` is refused: `self.refusal(value).is_some()`, without
    /// writing the message.
    fn refuses(&self, value: &Value) -> bool {
        self.find_refusal(value, None).is_some()
    }

    /// [`Requirement::refusal`], told with `repaired = Some(n)` that `value`
    /// is a list [`Requirement::repair`] built: it holds every `includes`
    /// element, and its first `n` elements already passed
    /// [`Requirement::item_refusal`], so neither is checked again.
    fn refusal_after(&self, value: &Value, repaired: Option<usize>) -> Option<Refusal> {
        self.find_refusal(value, repaired).map(Found::refusal)
    }

    /// The first check that refuses `value` (see [`Requirement::refusal_after`]).
    fn find_refusal<'a>(&'a self, value: &'a Value, repaired: Option<usize>) -> Option<Found<'a>> {
        let found = |op: &'static str, why: Why<'a>, setter: &'a Setter| {
            Some(Found {
                op,
                why,
                setter: Some(setter),
            })
        };
        if let Some(p) = &self.pinned
            && &p.value != value
        {
            return found("value", Why::NotPinned(&p.value), &p.setter);
        }
        if let Some((allowed, setters)) = &self.allowed
            && !allowed.contains(value)
        {
            let setter = self
                .allowed_by
                .iter()
                .find(|b| !b.value.contains(value))
                .map(|b| &b.setter)
                .or_else(|| setters.last());
            return Some(Found {
                op: "allowed",
                why: Why::NotAllowed(allowed),
                setter,
            });
        }
        if let Some(d) = self.denied.iter().find(|d| &d.value == value) {
            return found("denied", Why::Denied, &d.setter);
        }
        if let Some(min) = &self.min
            && self.cmp(value, &min.value).is_lt()
        {
            return found("min", Why::BelowMin(&min.value), &min.setter);
        }
        if let Some(max) = &self.max
            && self.cmp(value, &max.value).is_gt()
        {
            return found("max", Why::AboveMax(&max.value), &max.setter);
        }
        if let Some(s) = value.as_str()
            && let Some(p) = self.patterns.iter().find(|p| !p.value.is_match(s))
        {
            return found("pattern", Why::NoMatch(&p.value), &p.setter);
        }
        if let Some(items) = value.as_array() {
            if repaired.is_none() && !self.includes.is_empty() {
                let mut present = UniqueValues::default();
                items.iter().for_each(|i| {
                    present.insert(i);
                });
                if let Some(inc) = self.includes.iter().find(|i| !present.contains(&i.value)) {
                    return found("includes", Why::Missing(&inc.value), &inc.setter);
                }
            }
            for item in items.iter().skip(repaired.unwrap_or(0)) {
                if let Some(r) = self.find_item_refusal(item) {
                    return Some(r);
                }
            }
        }
        None
    }

    /// Why one list element (canonical) must be removed, or `None` when it may stay.
    pub fn item_refusal(&self, item: &Value) -> Option<Refusal> {
        self.find_item_refusal(item).map(Found::refusal)
    }

    /// The first check that removes `item` from a list.
    fn find_item_refusal<'a>(&'a self, item: &'a Value) -> Option<Found<'a>> {
        let found = |op: &'static str, why: Why<'a>, setter: &'a Setter| {
            Some(Found {
                op,
                why,
                setter: Some(setter),
            })
        };
        if self.excludes.is_empty() && self.within.is_empty() && self.patterns.is_empty() {
            return None;
        }
        let norm = self.norm(item);
        if let Some(&i) = self.excludes_index.meeting(&norm) {
            let e = &self.excludes[i];
            return found("excludes", Why::Excluded(item, &e.value), &e.setter);
        }
        for w in &self.within {
            if !w.value.admits(&norm) {
                return found("within", Why::NotWithin(item, &w.value), &w.setter);
            }
        }
        if let Some(s) = item.as_str()
            && let Some(p) = self.patterns.iter().find(|p| !p.value.is_match(s))
        {
            return found("pattern", Why::ItemNoMatch(item, &p.value), &p.setter);
        }
        None
    }

    /// Repairs a candidate list (canonical elements): adds missing
    /// `includes`, removes elements that `excludes`, `within` or `pattern`
    /// refuse (each removal is returned), drops repeats and keeps the order
    /// otherwise. Fails only where the list as a whole is refused (`value`,
    /// `allowed`, `denied`).
    pub fn repair(&self, list: &[Value]) -> Result<(Vec<Value>, Removed), Refusal> {
        match self.repair_owned(list.to_vec()) {
            Ok((kept, removed)) => {
                Ok((kept, removed.into_iter().map(|(_, v, r)| (v, r)).collect()))
            }
            Err(e) => Err(e.0),
        }
    }

    /// [`Requirement::repair`] of a list it may take apart: its elements are
    /// moved, not copied, and each removed one comes with its position in
    /// `list`, so its author is found without searching. A list refused as
    /// a whole comes back with the refusal (without its repeats).
    pub fn repair_owned(&self, list: Vec<Value>) -> Result<Repaired, Box<(Refusal, Vec<Value>)>> {
        let mut removed = Vec::new();
        let mut kept = UniqueValues::with_capacity(list.len() + self.includes.len());
        let mut kept_at = Vec::with_capacity(list.len());
        for (i, item) in list.into_iter().enumerate() {
            match self.item_refusal(&item) {
                Some(r) => removed.push((i, item, r)),
                None => {
                    if kept.insert_owned(item) {
                        kept_at.push(i);
                    }
                }
            }
        }
        let checked = kept.len();
        for inc in &self.includes {
            kept.insert(&inc.value);
        }
        let repaired = Value::Array(kept.into_vec());
        let refusal = self.refusal_after(&repaired, Some(checked));
        let Value::Array(mut kept) = repaired else {
            return Err(Box::new((unreachable_refusal(), Vec::new())));
        };
        match refusal {
            None => Ok((kept, removed)),
            Some(r) => {
                // The list as given, in its order: what was kept and what was removed.
                kept.truncate(checked);
                let mut all: Vec<(usize, Value)> = kept_at.into_iter().zip(kept).collect();
                all.extend(removed.into_iter().map(|(i, v, _)| (i, v)));
                all.sort_by_key(|(i, _)| *i);
                Err(Box::new((r, all.into_iter().map(|(_, v)| v).collect())))
            }
        }
    }

    /// Who pinned the value, when one is pinned.
    pub fn pinned_setter(&self) -> Option<&Setter> {
        self.pinned.as_ref().map(|b| &b.setter)
    }

    /// The elements `includes` requires, highest-ranked first.
    pub fn includes(&self) -> impl Iterator<Item = &Value> {
        self.includes.iter().map(|b| &b.value)
    }

    /// Who set the first `includes`, when any did.
    pub fn includes_setter(&self) -> Option<&Setter> {
        self.includes.first().map(|b| &b.setter)
    }

    /// The fallback named by a `default` operator, with its setter.
    pub fn default_value(&self) -> Option<(&Value, &Setter)> {
        self.default.as_ref().map(|b| (&b.value, &b.setter))
    }

    /// The strictest value the requirement admits: the pinned value, the
    /// strictest admissible enum value, the lockdown value if admissible, or
    /// for lists the required elements.
    pub fn strictest(&self) -> Option<Value> {
        if let Some(p) = &self.pinned {
            return Some(p.value.clone());
        }
        if let Some(domain) = self.setting.finite_domain() {
            let ordered = self.setting.order.clone().unwrap_or(domain);
            let mut candidates = Vec::new();
            candidates.extend(self.setting.lockdown.clone());
            candidates.extend(ordered);
            return candidates.into_iter().find(|v| !self.refuses(v));
        }
        if self.setting.kind == Kind::Array
            && let Ok((v, _)) = self.repair(&[])
        {
            return Some(Value::Array(v));
        }
        if let Some((allowed, _)) = &self.allowed {
            return allowed.iter().find(|v| !self.refuses(v)).cloned();
        }
        if self.setting.kind == Kind::Array {
            return None;
        }
        self.setting.lockdown.clone().filter(|v| !self.refuses(v))
    }

    /// Whether exactly one value complies, so nothing below can change it.
    pub fn is_locked(&self) -> bool {
        if self.pinned.is_some() {
            return true;
        }
        if let Some((allowed, _)) = &self.allowed
            && allowed.len() == 1
        {
            return true;
        }
        match self.setting.finite_domain() {
            Some(domain) if self.setting.kind != Kind::Array => {
                domain.iter().filter(|v| !self.refuses(v)).count() == 1
            }
            _ => false,
        }
    }

    /// Every setter that contributes, highest-ranked first, without repeats.
    pub fn setters(&self) -> Vec<Setter> {
        let mut seen: HashSet<&Setter> = HashSet::new();
        let bounds = self
            .pinned
            .iter()
            .map(|b| &b.setter)
            .chain(self.allowed.iter().flat_map(|(_, s)| s))
            .chain(self.denied.iter().map(|b| &b.setter))
            .chain(self.min.iter().map(|b| &b.setter))
            .chain(self.max.iter().map(|b| &b.setter))
            .chain(self.patterns.iter().map(|b| &b.setter))
            .chain(self.includes.iter().map(|b| &b.setter))
            .chain(self.within.iter().map(|b| &b.setter))
            .chain(self.excludes.iter().map(|b| &b.setter))
            .chain(self.default.iter().map(|b| &b.setter));
        let mut all = Vec::new();
        for s in bounds {
            if seen.insert(s) {
                all.push(s.clone());
            }
        }
        all
    }

    /// The combined requirement as data: one entry per operator in use, plus
    /// `sources`, the names of the sources that set it.
    pub fn to_json(&self) -> Map {
        let mut m = Map::new();
        let values =
            |bs: &[Bound<Value>]| Value::Array(bs.iter().map(|b| b.value.clone()).collect());
        if let Some(p) = &self.pinned {
            m.insert("value".into(), p.value.clone());
        }
        if let Some((allowed, _)) = &self.allowed {
            m.insert("allowed".into(), Value::Array(allowed.clone()));
        }
        if !self.denied.is_empty() {
            m.insert("denied".into(), values(&self.denied));
        }
        if let Some(b) = &self.min {
            m.insert("min".into(), b.value.clone());
        }
        if let Some(b) = &self.max {
            m.insert("max".into(), b.value.clone());
        }
        if !self.patterns.is_empty() {
            let ps = self
                .patterns
                .iter()
                .map(|p| Value::String(p.value.source.clone()))
                .collect();
            m.insert("pattern".into(), Value::Array(ps));
        }
        if !self.includes.is_empty() {
            m.insert("includes".into(), values(&self.includes));
        }
        if !self.within.is_empty() {
            let ws = self
                .within
                .iter()
                .map(|w| Value::Array(w.value.values.to_vec()))
                .collect();
            m.insert("within".into(), Value::Array(ws));
        }
        if !self.excludes.is_empty() {
            m.insert("excludes".into(), values(&self.excludes));
        }
        if let Some(b) = &self.default {
            m.insert("default".into(), b.value.clone());
        }
        let mut sources: Vec<Value> = Vec::new();
        for s in self.setters() {
            let name = Value::String(s.source.name().into());
            if !sources.contains(&name) {
                sources.push(name);
            }
        }
        m.insert("sources".into(), Value::Array(sources));
        m
    }

    /// One line per operator for people: `allowed ["read-only"] — system (/etc/…:4)`.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let line = |op: &str, v: String, s: &Setter| format!("{op} {v} — set by {s}");
        if let Some(p) = &self.pinned {
            lines.push(line("value", p.value.to_string(), &p.setter));
        }
        if let Some((allowed, setters)) = &self.allowed {
            let who = setters
                .iter()
                .map(Setter::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            lines.push(format!("allowed [{}] — set by {who}", join_values(allowed)));
        }
        for b in &self.denied {
            lines.push(line("denied", b.value.to_string(), &b.setter));
        }
        if let Some(b) = &self.min {
            lines.push(line("min", b.value.to_string(), &b.setter));
        }
        if let Some(b) = &self.max {
            lines.push(line("max", b.value.to_string(), &b.setter));
        }
        for b in &self.patterns {
            lines.push(line("pattern", format!("{:?}", b.value.source), &b.setter));
        }
        for b in &self.includes {
            lines.push(line("includes", b.value.to_string(), &b.setter));
        }
        for b in &self.within {
            lines.push(line("within", format!("[{}]", b.value.joined()), &b.setter));
        }
        for b in &self.excludes {
            lines.push(line("excludes", b.value.to_string(), &b.setter));
        }
        if let Some(b) = &self.default {
            lines.push(line("default", b.value.to_string(), &b.setter));
        }
        lines
    }
}

fn unreachable_setter() -> Setter {
    Setter {
        source: SourceKind::Default,
        location: Location::described("(combined requirement)"),
    }
}

fn unreachable_refusal() -> Refusal {
    Refusal {
        op: "value",
        reason: "internal: a repaired list is not a list".into(),
        setter: unreachable_setter(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;
    use proptest::prelude::*;

    /// What `within` meant before it was indexed: try every entry.
    fn admits_by_scan(entries: &[Value], item: &Value) -> bool {
        entries.iter().any(|allowed| match (allowed, item) {
            (Value::String(pattern), Value::String(text)) => crate::glob::matches(pattern, text),
            (allowed, item) => allowed == item,
        })
    }

    fn within_text(entries: &[Value]) -> Within {
        Within::new(entries.into(), ValueKind::Text, &KindContext::default())
    }

    fn text_norm(item: &Value) -> Norm {
        Norm::of(ValueKind::Text, item, &KindContext::default())
    }

    #[test]
    fn map_hash_ignores_insertion_order() {
        // `value_hash` feeds a map's entries in iteration order: that order
        // must not depend on how the map was built, or equal maps would
        // hash apart (and a repeated table would survive de-duplication).
        let mut ab = Map::new();
        ab.insert("a".into(), json!(1));
        ab.insert("b".into(), json!([true, "x"]));
        let mut ba = Map::new();
        ba.insert("b".into(), json!([true, "x"]));
        ba.insert("a".into(), json!(1));
        assert_eq!(ab.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(ba.keys().collect::<Vec<_>>(), ["a", "b"]);
        let (ab, ba) = (Value::Object(ab), Value::Object(ba));
        assert_eq!(ab, ba);
        assert_eq!(value_hash(&ab), value_hash(&ba));
        assert_ne!(value_hash(&ab), value_hash(&json!({"a": 1})));
    }

    #[test]
    fn within_admits_what_a_scan_admits() {
        let entries = [
            json!("github.com"),
            json!("*.npmjs.org"),
            json!("*"),
            json!("a?c"),
            json!("*.é.org"),
            json!({ "name": "docs" }),
            json!(1),
        ];
        let items = [
            json!("github.com"),
            json!("api.github.com"),
            json!("registry.npmjs.org"),
            json!("npmjs.org"),
            json!("x.é.org"),
            json!({ "name": "docs" }),
            json!({ "name": "other" }),
            json!(1),
            json!(true),
        ];
        for cut in 0..entries.len() {
            let w = within_text(&entries[cut..]);
            for item in &items {
                assert_eq!(
                    w.admits(&text_norm(item)),
                    admits_by_scan(&entries[cut..], item),
                    "{item} in {:?}",
                    &entries[cut..]
                );
            }
        }
    }

    #[test]
    fn unique_values_keep_the_first_of_equal_values() {
        let list = [
            json!(1),
            json!(1.0),
            json!(-0.0),
            json!(0.0),
            json!({ "a": [1, "x"] }),
            json!({ "a": [1, "x"] }),
            json!(1),
        ];
        let mut unique = UniqueValues::default();
        let mut naive: Vec<Value> = Vec::new();
        for v in &list {
            assert_eq!(unique.insert(v), !naive.contains(v));
            if !naive.contains(v) {
                naive.push(v.clone());
            }
        }
        assert_eq!(unique.into_vec(), naive);
    }

    proptest! {
        #[test]
        fn within_agrees_with_a_scan(
            entries in proptest::collection::vec("[*?]?[a-c.]{0,3}[*?]?[a-c]{0,2}", 0..6),
            text in "[a-c.*?]{0,6}",
        ) {
            let entries: Vec<Value> = entries.into_iter().map(Value::String).collect();
            let item = Value::String(text);
            prop_assert_eq!(within_text(&entries).admits(&text_norm(&item)), admits_by_scan(&entries, &item));
        }

        #[test]
        fn unique_values_agree_with_contains(list in proptest::collection::vec(0u8..6, 0..20)) {
            let values: Vec<Value> = list.iter().map(|&n| match n % 3 {
                0 => json!(n),
                1 => json!(format!("s{n}")),
                _ => json!({ "k": n }),
            }).collect();
            let mut unique = UniqueValues::default();
            let mut naive: Vec<Value> = Vec::new();
            for v in &values {
                if !naive.contains(v) {
                    naive.push(v.clone());
                }
                unique.insert(v);
            }
            prop_assert_eq!(unique.into_vec(), naive);
        }
    }
}
