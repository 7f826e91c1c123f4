#![allow(clippy::unwrap_used)]
//! Properties of resolution over random layer stacks.
//!
//! Stacks are built from a small generator of settings and constraints on six
//! settings (three ordered enums, a boolean, a replace list and a union list);
//! the checks use an independent model of the operators written here, not
//! the library's own.
//!
//! (a) every effective value complies with every accepted managed constraint,
//!     whatever the unmanaged layers propose;
//! (b) unmanaged layers never change a value a managed `value` pins;
//! (c) adding a managed layer never widens the admissible values of an enum;
//! (d) the digest depends on the effective settings only, not on the order of
//!     the layers or of the keys.

use std::collections::BTreeSet;

use mandate::json;
use mandate::layer::Layer;
use mandate::resolve::{Effective, Stack, digest, resolve_stack};
use mandate::value::{Map, Value};
use mandate::{Schema, SourceKind, resolve};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// An ordered enum, strictest first.
    Enum(&'static [&'static str]),
    Bool,
    List,
}

#[derive(Clone, Copy, Debug)]
struct Spec {
    key: &'static str,
    kind: Kind,
}

const SPECS: [Spec; 6] = [
    Spec {
        key: "approvals.policy",
        kind: Kind::Enum(&["untrusted", "on-request", "on-failure", "never"]),
    },
    Spec {
        key: "sandbox.mode",
        kind: Kind::Enum(&["read-only", "workspace-write", "full-access"]),
    },
    Spec {
        key: "sandbox.network",
        kind: Kind::Bool,
    },
    Spec {
        key: "network.allowed_domains",
        kind: Kind::List,
    },
    Spec {
        key: "network.denied_domains",
        kind: Kind::List,
    },
    Spec {
        key: "auth.method",
        kind: Kind::Enum(&["sso", "device-code", "api-key"]),
    },
];

/// List elements (all valid domain patterns).
const POOL: [&str; 6] = [
    "github.com",
    "registry.npmjs.org",
    "api.openai.com",
    "git.acme.example",
    "pastebin.com",
    "*.npmjs.org",
];

/// What `within` may list besides plain elements.
const GLOBS: [&str; 3] = ["*.npmjs.org", "*.example", "*.com"];

const MANAGED: [SourceKind; 4] = [
    SourceKind::Mdm,
    SourceKind::Cloud,
    SourceKind::System,
    SourceKind::MdmUser,
];

/// One operator with its operand, as written in a policy file.
#[derive(Clone, Debug)]
struct Op {
    name: &'static str,
    operand: Value,
}

#[derive(Clone, Debug)]
struct LayerSpec {
    source: SourceKind,
    rank: u32,
    /// `(index into SPECS, value)`, one per setting.
    settings: Vec<(usize, Value)>,
    /// `(index into SPECS, operators)`, one per setting (managed layers only).
    requirements: Vec<(usize, Vec<Op>)>,
}

impl LayerSpec {
    fn origin(&self) -> String {
        format!("/{}/{:02}.toml", self.source, self.rank)
    }

    fn text(&self) -> String {
        let mut text = String::new();
        if self.source.is_managed() {
            text.push_str("[settings]\n");
        }
        for (i, value) in &self.settings {
            text.push_str(&format!("{} = {value}\n", SPECS[*i].key));
        }
        if self.source.is_managed() {
            text.push_str("[requirements]\n");
            for (i, ops) in &self.requirements {
                let ops: Vec<String> = ops
                    .iter()
                    .map(|op| format!("{} = {}", op.name, op.operand))
                    .collect();
                text.push_str(&format!(
                    "\"{}\" = {{ {} }}\n",
                    SPECS[*i].key,
                    ops.join(", ")
                ));
            }
        }
        text
    }

    fn layer(&self) -> Layer {
        let schema = Schema::bundled();
        let origin = self.origin();
        let text = self.text();
        let mut layer = if self.source.is_managed() {
            Layer::parse_policy(schema, self.source, &origin, &text)
        } else {
            Layer::parse_settings(schema, self.source, &origin, &text)
        }
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
        layer.rank = self.rank;
        layer
    }
}

fn strings(items: Vec<&str>) -> Value {
    json!(items)
}

fn list() -> impl Strategy<Value = Value> {
    subsequence(POOL.to_vec(), 0..=3)
        .prop_shuffle()
        .prop_map(strings)
}

fn value_of(kind: Kind) -> BoxedStrategy<Value> {
    match kind {
        Kind::Enum(order) => select(order).prop_map(|s| json!(s)).boxed(),
        Kind::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Kind::List => list().boxed(),
    }
}

fn alternation(items: Vec<&str>) -> Value {
    let parts: Vec<String> = items.iter().map(|s| regex::escape(s)).collect();
    Value::String(parts.join("|"))
}

fn op(name: &'static str, operand: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Op> {
    operand
        .prop_map(move |operand| Op { name, operand })
        .boxed()
}

fn op_of(kind: Kind) -> BoxedStrategy<Op> {
    match kind {
        Kind::Enum(order) => {
            let one = move || select(order).prop_map(|s| json!(s));
            let some =
                move |min: usize| subsequence(order.to_vec(), min..=order.len()).prop_map(strings);
            prop_oneof![
                op("value", one()),
                op("allowed", some(0)),
                op("denied", some(0)),
                op("min", one()),
                op("max", one()),
                op(
                    "pattern",
                    subsequence(order.to_vec(), 1..=order.len()).prop_map(alternation)
                ),
                op("default", one()),
            ]
            .boxed()
        }
        Kind::Bool => {
            let some = || subsequence(vec![false, true], 0..=2).prop_map(|v| json!(v));
            prop_oneof![
                op("value", any::<bool>().prop_map(Value::Bool)),
                op("allowed", some()),
                op("denied", some()),
                op("default", any::<bool>().prop_map(Value::Bool)),
            ]
            .boxed()
        }
        Kind::List => {
            let within: Vec<&str> = POOL
                .iter()
                .chain(&GLOBS)
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            prop_oneof![
                op("value", list()),
                op("allowed", vec(list(), 1..=2).prop_map(Value::Array)),
                op("denied", vec(list(), 1..=2).prop_map(Value::Array)),
                op(
                    "pattern",
                    prop_oneof![
                        subsequence(POOL.to_vec(), 1..=4).prop_map(alternation),
                        Just(json!(r".*\.(com|org)")),
                    ]
                ),
                op(
                    "includes",
                    subsequence(POOL.to_vec(), 1..=2).prop_map(strings)
                ),
                op("within", subsequence(within, 1..=4).prop_map(strings)),
                op(
                    "excludes",
                    subsequence(POOL.to_vec(), 1..=2).prop_map(strings)
                ),
                op("default", list()),
            ]
            .boxed()
        }
    }
}

/// One to two operators on one setting, each operator at most once.
fn constraint(kind: Kind) -> impl Strategy<Value = Vec<Op>> {
    vec(op_of(kind), 1..=2).prop_map(|ops| {
        let mut seen = BTreeSet::new();
        ops.into_iter().filter(|o| seen.insert(o.name)).collect()
    })
}

fn entries<T: std::fmt::Debug + Clone + 'static>(
    max: usize,
    of: impl Fn(Kind) -> BoxedStrategy<T> + 'static,
) -> impl Strategy<Value = Vec<(usize, T)>> {
    let of = std::rc::Rc::new(of);
    vec(
        (0..SPECS.len()).prop_flat_map(move |i| (Just(i), of(SPECS[i].kind))),
        0..=max,
    )
    .prop_map(|all| {
        let mut seen = BTreeSet::new();
        all.into_iter().filter(|(i, _)| seen.insert(*i)).collect()
    })
}

fn settings_entries() -> impl Strategy<Value = Vec<(usize, Value)>> {
    entries(3, value_of)
}

fn managed_layer() -> impl Strategy<Value = LayerSpec> {
    (
        select(MANAGED.to_vec()),
        settings_entries(),
        entries(3, |k| constraint(k).boxed()),
    )
        .prop_map(|(source, settings, requirements)| LayerSpec {
            source,
            rank: 0,
            settings,
            requirements,
        })
}

fn unmanaged_layers() -> impl Strategy<Value = Vec<LayerSpec>> {
    (
        proptest::option::of(settings_entries()),
        proptest::option::of(settings_entries()),
        proptest::option::of(settings_entries()),
    )
        .prop_map(|(session, project, user)| {
            [
                (SourceKind::Session, session),
                (SourceKind::Project, project),
                (SourceKind::User, user),
            ]
            .into_iter()
            .filter_map(|(source, settings)| {
                settings.map(|settings| LayerSpec {
                    source,
                    rank: 0,
                    settings,
                    requirements: Vec::new(),
                })
            })
            .collect()
        })
}

/// Managed layers with distinct ranks 1, 2, … (equal ranks within a source do not occur).
fn managed_layers(max: usize) -> impl Strategy<Value = Vec<LayerSpec>> {
    vec(managed_layer(), 0..=max).prop_map(|mut layers| {
        for (i, l) in layers.iter_mut().enumerate() {
            l.rank = i as u32 + 1;
        }
        layers
    })
}

fn layers(specs: &[LayerSpec]) -> Vec<Layer> {
    specs.iter().map(LayerSpec::layer).collect()
}

// ---------------------------------------------------------------------------
// The independent model.

/// Whether `text` matches the glob `pattern` (`*` any run, `?` one character).
fn glob(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        Some((c, rest)) => match text.split_first() {
            Some((t, tail)) if *c == '?' || c == t => glob(rest, tail),
            _ => false,
        },
    }
}

fn glob_matches(pattern: &str, text: &str) -> bool {
    glob(
        &pattern.chars().collect::<Vec<_>>(),
        &text.chars().collect::<Vec<_>>(),
    )
}

fn full_match(pattern: &str, text: &str) -> bool {
    regex::Regex::new(&format!("^(?:{pattern})$"))
        .unwrap()
        .is_match(text)
}

fn position(spec: Spec, v: &Value) -> usize {
    let Kind::Enum(order) = spec.kind else {
        panic!("{} is not ordered", spec.key)
    };
    order.iter().position(|o| v.as_str() == Some(o)).unwrap()
}

fn items(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap()
}

/// Why `value` breaks `op`, or `None` when it complies.
fn breaks(spec: Spec, op: &Op, value: &Value) -> Option<String> {
    let x = &op.operand;
    let ok = match op.name {
        "value" => value == x,
        "allowed" => items(x).contains(value),
        "denied" => !items(x).contains(value),
        "min" => position(spec, value) >= position(spec, x),
        "max" => position(spec, value) <= position(spec, x),
        "pattern" => {
            let p = x.as_str().unwrap();
            match value {
                Value::String(s) => full_match(p, s),
                Value::Array(a) => a.iter().all(|i| full_match(p, i.as_str().unwrap())),
                _ => panic!("pattern on {value}"),
            }
        }
        "includes" => items(x).iter().all(|i| items(value).contains(i)),
        "within" => items(value).iter().all(|i| {
            items(x)
                .iter()
                .any(|w| glob_matches(w.as_str().unwrap(), i.as_str().unwrap()))
        }),
        "excludes" => items(x).iter().all(|i| !items(value).contains(i)),
        "default" => true,
        other => panic!("unknown operator {other}"),
    };
    (!ok).then(|| format!("{} = {value} breaks {} = {x}", spec.key, op.name))
}

/// The managed constraints resolution kept: every requirement of every
/// managed layer, minus those a `conflict` diagnostic says were dropped.
fn accepted(specs: &[LayerSpec], eff: &Effective) -> Vec<(usize, Vec<Op>)> {
    let mut out = Vec::new();
    for spec in specs.iter().filter(|s| s.source.is_managed()) {
        let layer = spec.layer();
        for entry in &layer.requirements {
            let (i, ops) = spec
                .requirements
                .iter()
                .find(|(i, _)| SPECS[*i].key == entry.key)
                .unwrap();
            let at = entry.location.to_string();
            // A conflict drops only the operator it names.
            let dropped: Vec<&str> = eff
                .diagnostics
                .iter()
                .filter(|d| d.code == "conflict" && d.location.as_ref().is_some_and(|l| *l == at))
                .filter_map(|d| d.operator.as_deref())
                .collect();
            let kept: Vec<Op> = ops
                .iter()
                .filter(|o| !dropped.contains(&o.name))
                .cloned()
                .collect();
            out.push((*i, kept));
        }
    }
    out
}

/// The values of each finite setting (in `finite_specs` order) a session may
/// choose on top of `layers`. Settings resolve independently, so one session
/// layer tries the n-th value of every setting at once.
fn admissible(layers: &[Layer]) -> Vec<BTreeSet<String>> {
    let domains: Vec<(Spec, Vec<String>)> = finite_specs()
        .map(|spec| {
            let domain = match spec.kind {
                Kind::Enum(order) => order.iter().map(|s| (*s).to_owned()).collect(),
                _ => vec!["false".to_owned(), "true".to_owned()],
            };
            (spec, domain)
        })
        .collect();
    let mut out = vec![BTreeSet::new(); domains.len()];
    for n in 0..4 {
        let args: Vec<String> = domains
            .iter()
            .filter_map(|(spec, domain)| domain.get(n).map(|v| format!("{}={v}", spec.key)))
            .collect();
        let mut stack = layers.to_vec();
        stack.push(mandate::layer::session_layer(Schema::bundled(), &args).unwrap());
        let eff = resolve(Schema::bundled(), stack);
        for ((spec, domain), set) in domains.iter().zip(&mut out) {
            if let Some(v) = domain.get(n)
                && !eff.keys[spec.key]
                    .rejected
                    .iter()
                    .any(|r| r.source == "session")
            {
                set.insert(v.clone());
            }
        }
    }
    out
}

fn finite_specs() -> impl Iterator<Item = Spec> {
    SPECS.into_iter().filter(|s| !matches!(s.kind, Kind::List))
}

fn dropped_locations(eff: &Effective) -> BTreeSet<String> {
    eff.diagnostics
        .iter()
        .filter(|d| d.code == "conflict")
        // Operators (and, for `denied`, `includes` and `excludes`, single
        // elements) are dropped one by one: the message says which.
        .filter_map(|d| {
            Some(format!(
                "{} {} {}",
                d.location.as_ref()?,
                d.operator.as_deref()?,
                d.message
            ))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// (a) Whatever the unmanaged layers say, every effective value complies
    /// with every managed constraint that was accepted.
    #[test]
    fn effective_values_comply_with_every_accepted_constraint(
        managed in managed_layers(4),
        unmanaged in unmanaged_layers(),
    ) {
        let specs: Vec<LayerSpec> = managed.iter().chain(&unmanaged).cloned().collect();
        let eff = resolve(Schema::bundled(), layers(&specs));
        let kept = accepted(&specs, &eff);
        for (i, spec) in SPECS.iter().enumerate() {
            // An empty `denied` list constrains nothing (and sets nothing).
            let constrained = kept
                .iter()
                .any(|(k, ops)| *k == i && ops.iter().any(|o| !(o.name == "denied" && items(&o.operand).is_empty())));
            let proposed = specs.iter().any(|s| s.settings.iter().any(|(k, _)| *k == i));
            let Some(value) = eff.get(spec.key) else {
                // Only auth.method has no schema default; it is unset only when nobody speaks.
                // A list is unset only when every list the engine can build (the
                // proposals, the defaults, the required elements alone) is refused
                // whole, which only `denied` can do: `denied = [[]]` with no
                // proposal admits non-empty lists only, and the engine does not
                // invent elements.
                let unbuildable_list = matches!(spec.kind, Kind::List)
                    && kept.iter().any(|(k, ops)| *k == i && ops.iter().any(|o| o.name == "denied"));
                prop_assert!(
                    (spec.key == "auth.method" && !constrained && !proposed) || unbuildable_list,
                    "{} is unset\n{:#?}\n{:#?}",
                    spec.key,
                    specs.iter().map(LayerSpec::text).collect::<Vec<_>>(),
                    eff.diagnostics
                );
                continue;
            };
            for (_, ops) in kept.iter().filter(|(k, _)| *k == i) {
                for op in ops {
                    if let Some(why) = breaks(*spec, op, value) {
                        prop_assert!(
                            false,
                            "{why} (from {})\n{:#?}\n{:#?}",
                            eff.keys[spec.key].source,
                            specs.iter().map(|s| (s.origin(), s.text())).collect::<Vec<_>>(),
                            eff.diagnostics
                        );
                    }
                }
            }
        }
    }

    /// (b) A managed pin holds whatever unmanaged layers are added or changed.
    #[test]
    fn unmanaged_layers_never_move_a_pinned_value(
        managed in managed_layers(4),
        first in unmanaged_layers(),
        second in unmanaged_layers(),
    ) {
        let bare = resolve(Schema::bundled(), layers(&managed));
        let kept = accepted(&managed, &bare);
        let with = |unmanaged: &[LayerSpec]| {
            let specs: Vec<LayerSpec> = managed.iter().chain(unmanaged).cloned().collect();
            resolve(Schema::bundled(), layers(&specs))
        };
        let (a, b) = (with(&first), with(&second));
        for (i, ops) in &kept {
            let Some(pin) = ops.iter().find(|o| o.name == "value") else { continue };
            let key = SPECS[*i].key;
            prop_assert_eq!(bare.get(key), Some(&pin.operand), "{}", key);
            prop_assert_eq!(a.get(key), Some(&pin.operand), "{}", key);
            prop_assert_eq!(b.get(key), Some(&pin.operand), "{}", key);
            prop_assert!(a.keys[key].locked && b.keys[key].locked, "{} is pinned but not locked", key);
        }
    }

    /// (c) A managed layer only ever tightens: ranked below every other one it
    /// never widens an enum's admissible values, and ranked anywhere it never
    /// does so unless it wins a conflict against a constraint that held before.
    #[test]
    fn adding_a_managed_layer_never_widens_the_admissible_values(
        base in managed_layers(3),
        extra in managed_layer(),
    ) {
        let before_layers = layers(&base);
        let before = admissible(&before_layers);

        // Lowest: an mdm-user layer ranked below every other one.
        let lowest = LayerSpec { source: SourceKind::MdmUser, rank: 0, ..extra.clone() };
        let mut with_lowest = before_layers.clone();
        with_lowest.push(lowest.layer());
        for ((spec, was), now) in finite_specs().zip(&before).zip(admissible(&with_lowest)) {
            prop_assert!(now.is_subset(was), "{}: {:?} widened to {:?}\n{}", spec.key, was, now, lowest.text());
        }

        // Anywhere: subset unless a constraint accepted before is now dropped.
        let anywhere = LayerSpec { rank: base.len() as u32 + 1, ..extra };
        let mut with_any = before_layers.clone();
        with_any.push(anywhere.layer());
        let dropped_before = dropped_locations(&resolve(Schema::bundled(), before_layers.clone()));
        let dropped_after = dropped_locations(&resolve(Schema::bundled(), with_any.clone()));
        let old_dropped_now: Vec<&String> = dropped_after
            .iter()
            .filter(|l| !l.starts_with(&anywhere.origin()) && !dropped_before.contains(*l))
            .collect();
        if old_dropped_now.is_empty() {
            for ((spec, was), now) in finite_specs().zip(&before).zip(admissible(&with_any)) {
                prop_assert!(now.is_subset(was), "{}: {:?} widened to {:?}\n{}", spec.key, was, now, anywhere.text());
            }
        }
    }

    /// (d) The digest does not depend on the order layers are listed in.
    #[test]
    fn the_digest_does_not_depend_on_the_order_of_layers(
        (specs, order) in (managed_layers(4), unmanaged_layers())
            .prop_map(|(m, u)| m.into_iter().chain(u).collect::<Vec<_>>())
            .prop_flat_map(|specs| {
                let n = specs.len();
                (Just(specs), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
            }),
    ) {
        let listed = layers(&specs);
        let shuffled: Vec<Layer> = order.iter().map(|&i| listed[i].clone()).collect();
        let a = resolve(Schema::bundled(), listed);
        let b = resolve(Schema::bundled(), shuffled);
        prop_assert_eq!(&a.digest, &b.digest);
        prop_assert_eq!(&a.settings(), &b.settings());
        prop_assert_eq!(&a.digest, &digest(&a.settings()));
    }

    /// (d) Equal settings have equal digests, whatever order they were written or inserted in.
    #[test]
    fn equal_settings_have_equal_digests(
        (entries, order) in settings_entries().prop_flat_map(|e| {
            let n = e.len();
            (Just(e), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
        }),
    ) {
        let write = |entries: Vec<&(usize, Value)>| {
            let text: String = entries.iter().map(|(i, v)| format!("{} = {v}\n", SPECS[*i].key)).collect();
            let layer = Layer::parse_settings(Schema::bundled(), SourceKind::User, "/user.toml", &text).unwrap();
            resolve(Schema::bundled(), vec![layer])
        };
        let a = write(entries.iter().collect());
        let b = write(order.iter().map(|&i| &entries[i]).collect());
        prop_assert_eq!(&a.digest, &b.digest);

        // The same tree built by inserting keys in two orders.
        let build = |entries: Vec<&(usize, Value)>| {
            let mut root = Map::new();
            for (i, v) in entries {
                let (group, name) = SPECS[*i].key.split_once('.').unwrap();
                root.entry(group)
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .unwrap()
                    .insert(name.to_owned(), v.clone());
            }
            Value::Object(root)
        };
        let x = build(entries.iter().collect());
        let y = build(order.iter().map(|&i| &entries[i]).collect());
        prop_assert_eq!(digest(&x), digest(&y));
    }
}

#[test]
fn the_model_agrees_with_the_schema_on_what_exists() {
    let schema = Schema::bundled();
    for spec in SPECS {
        let setting = schema.get(spec.key).unwrap();
        match spec.kind {
            Kind::Enum(order) => {
                let expected: Vec<Value> = order.iter().map(|s| json!(s)).collect();
                assert_eq!(setting.order.as_ref(), Some(&expected), "{}", spec.key);
            }
            Kind::Bool => assert_eq!(
                setting.finite_domain(),
                Some(vec![json!(false), json!(true)])
            ),
            Kind::List => assert!(setting.finite_domain().is_none()),
        }
    }
    assert!(glob_matches("*.npmjs.org", "registry.npmjs.org"));
    assert!(glob_matches("*.npmjs.org", "*.npmjs.org"));
    assert!(!glob_matches("*.npmjs.org", "npmjs.org"));
    assert!(glob_matches("*", ""));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// (e) Lockdown is never looser than policy: rejecting any one managed
    /// layer never yields a value a session could not be refused for under
    /// the full stack. Enums hold a value at least as strict as any the full
    /// stack admits; deny lists keep every element the full stack requires
    /// that an accepted layer asked for; allow lists admit nothing the full
    /// stack refuses.
    #[test]
    fn lockdown_is_never_looser_than_the_policy_it_replaces(
        managed in managed_layers(4).prop_filter("a layer to reject", |l| !l.is_empty()),
        pick in any::<prop::sample::Index>(),
    ) {
        let full_layers = layers(&managed);
        let full = resolve(Schema::bundled(), full_layers.clone());
        let gone = pick.index(managed.len());
        let kept: Vec<LayerSpec> = managed.iter().enumerate().filter(|(i, _)| *i != gone).map(|(_, l)| l.clone()).collect();
        let locked = resolve_stack(
            Schema::bundled(),
            Stack { layers: layers(&kept), lockdown: true, domain: "dev.mandate".into(), ..Stack::default() },
        );
        let admits = admissible(&full_layers);
        for (spec, full_admits) in finite_specs().zip(&admits) {
            let value = locked.get(spec.key).map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            let Some(value) = value else {
                prop_assert!(false, "{} is unset in lockdown", spec.key);
                continue;
            };
            let order: Vec<String> = match spec.kind {
                Kind::Enum(order) => order.iter().map(|s| (*s).to_owned()).collect(),
                // sandbox.network: closed is the stricter.
                _ => vec!["false".into(), "true".into()],
            };
            let rank = |v: &str| order.iter().position(|o| o == v).unwrap_or(usize::MAX);
            if let Some(loosest_admitted_min) = full_admits.iter().map(|v| rank(v)).min() {
                prop_assert!(
                    rank(&value) <= loosest_admitted_min,
                    "{}: lockdown {} is looser than {:?}, all the full stack admits", spec.key, value, full_admits
                );
            }
        }
        // Deny lists: what an accepted layer requires and the full stack holds stays.
        let locked_denied = locked.get("network.denied_domains").cloned().unwrap_or(json!([]));
        let full_denied = full.get("network.denied_domains").cloned().unwrap_or(json!([]));
        for spec in &kept {
            for (i, ops) in &spec.requirements {
                if SPECS[*i].key != "network.denied_domains" { continue; }
                for op in ops.iter().filter(|o| o.name == "includes") {
                    for element in items(&op.operand) {
                        if full_denied.as_array().is_some_and(|a| a.contains(element)) {
                            prop_assert!(
                                locked_denied.as_array().is_some_and(|a| a.contains(element)),
                                "denied {} dropped in lockdown: {}", element, locked_denied
                            );
                        }
                    }
                }
            }
        }
        // Allow lists: nothing the full stack would refuse.
        let locked_allowed = locked.get("network.allowed_domains").cloned().unwrap_or(json!([]));
        if let Some(list) = locked_allowed.as_array().filter(|a| !a.is_empty()) {
            let mut with = full_layers.clone();
            with.push(mandate::layer::session_layer(
                Schema::bundled(),
                &[format!("network.allowed_domains={}", Value::Array(list.clone()))],
            ).unwrap());
            let judged = resolve(Schema::bundled(), with);
            prop_assert!(
                judged.keys["network.allowed_domains"].rejected.iter().all(|r| r.source != "session"),
                "lockdown allows {:?}, which the full stack refuses", list
            );
        }
    }
}
