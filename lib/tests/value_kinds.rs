//! List requirements compare values the way the agent reads them (value
//! kinds), and a conflict drops only what conflicts. Each case here was a way
//! to loosen the effective configuration before.

#![allow(clippy::unwrap_used)]

use mandate::json;
use mandate::kind::{KindContext, ValueKind, normalise};
use mandate::resolve::{Effective, Stack, resolve_stack};
use mandate::value::Value;
use mandate::{Layer, Schema, SourceKind, resolve};
use proptest::prelude::*;

const SYSTEM: &str = "/etc/mandate/policy.d/10-base.toml";
const TEAM: &str = "/etc/mandate/policy.d/50-team.toml";
const USER: &str = "/home/ana/.config/mandate/config.toml";

fn schema() -> &'static Schema {
    Schema::bundled()
}

fn system(origin: &str, text: &str) -> Layer {
    Layer::parse_policy(schema(), SourceKind::System, origin, text).expect("policy parses")
}

fn user(text: &str) -> Layer {
    Layer::parse_settings(schema(), SourceKind::User, USER, text).expect("settings parse")
}

/// Resolves with `~` meaning /home/ana, as for the user ana.
fn resolve_for_ana(layers: Vec<Layer>) -> Effective {
    resolve_stack(
        schema(),
        Stack {
            layers,
            domain: "dev.mandate".into(),
            kind_context: KindContext {
                home: Some("/home/ana".into()),
            },
            ..Stack::default()
        },
    )
}

fn strings(eff: &Effective, key: &str) -> Vec<String> {
    eff.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn refused_ops(eff: &Effective, key: &str) -> Vec<(Value, String)> {
    eff.keys[key]
        .rejected
        .iter()
        .map(|r| {
            (
                r.value.clone(),
                r.constraint
                    .as_ref()
                    .map(|c| c.op.clone())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn an_excluded_host_survives_under_no_spelling_or_pattern() {
    let eff = resolve(
        schema(),
        vec![
            system(
                SYSTEM,
                "[requirements]\n\"network.allowed_domains\" = { excludes = [\"secret.acme.example\"] }\n",
            ),
            user(
                "[network]\nallowed_domains = [\"SECRET.acme.example\", \"Secret.Acme.Example\", \"*.acme.example\", \"*.example\", \"github.com\", \"public.acme.example\"]\n",
            ),
        ],
    );
    assert_eq!(
        strings(&eff, "network.allowed_domains"),
        ["github.com", "public.acme.example"]
    );
    let refused = refused_ops(&eff, "network.allowed_domains");
    assert_eq!(refused.len(), 4, "{refused:?}");
    assert!(
        refused.iter().all(|(_, op)| op == "excludes"),
        "{refused:?}"
    );
}

#[test]
fn within_compares_paths_after_normalisation() {
    let eff = resolve_for_ana(vec![
        system(
            SYSTEM,
            "[requirements]\n\"sandbox.writable_roots\" = { within = [\"/home/ana/src/*\", \"~/cache\"] }\n",
        ),
        user(
            "[sandbox]\nwritable_roots = [\"/home/ana/src/../.ssh\", \"/home/ana/src/app/./build/\", \"/home/ana/cache/x\", \"/home/ana/src\", \"/home/ana/src/a/../../../../etc\"]\n",
        ),
    ]);
    assert_eq!(
        strings(&eff, "sandbox.writable_roots"),
        ["/home/ana/src/app/build", "/home/ana/cache/x"]
    );
    let refused = refused_ops(&eff, "sandbox.writable_roots");
    assert!(
        refused.contains(&(json!("/home/ana/.ssh"), "within".into())),
        "{refused:?}"
    );
    assert!(
        refused.contains(&(json!("/home/ana/src"), "within".into())),
        "{refused:?}"
    );
}

#[test]
fn a_path_that_climbs_above_the_root_is_refused() {
    let eff = resolve(
        schema(),
        vec![user(
            "[sandbox]\nwritable_roots = [\"/../../etc\", \"/tmp/build\"]\n",
        )],
    );
    assert_eq!(strings(&eff, "sandbox.writable_roots"), ["/tmp/build"]);
    let refused = &eff.keys["sandbox.writable_roots"].rejected;
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0].reason.contains("climbs above the root"),
        "{}",
        refused[0].reason
    );
    assert_eq!(refused[0].constraint.as_ref().unwrap().op, "kind");
}

#[test]
fn excludes_of_a_path_remove_every_spelling_and_everything_covering_it() {
    let eff = resolve(
        schema(),
        vec![
            system(
                SYSTEM,
                "[requirements]\n\"sandbox.writable_roots\" = { excludes = [\"/etc\"] }\n",
            ),
            user(
                "[sandbox]\nwritable_roots = [\"/etc/\", \"//etc\", \"/usr/../etc\", \"/etc/ssh\", \"/.\", \"/etcetera\", \"/opt/cache\"]\n",
            ),
        ],
    );
    assert_eq!(
        strings(&eff, "sandbox.writable_roots"),
        ["/etcetera", "/opt/cache"]
    );
}

#[test]
fn a_denied_name_is_refused_in_any_case_or_padding() {
    for spelling in ["GPT-4", " gpt-4 ", "Gpt-4\t"] {
        let eff = resolve(
            schema(),
            vec![
                system(
                    SYSTEM,
                    "[requirements]\n\"models.default\" = { denied = [\"gpt-4\"] }\n",
                ),
                user(&format!("[models]\ndefault = {}\n", json!(spelling))),
            ],
        );
        assert_eq!(eff.get("models.default"), None, "{spelling:?}");
        let refused = refused_ops(&eff, "models.default");
        assert_eq!(refused, [(json!(spelling), "denied".to_owned())]);
    }
    // An allowed name in another case is accepted, in its canonical form.
    let eff = resolve(
        schema(),
        vec![
            system(
                SYSTEM,
                "[requirements]\n\"models.default\" = { allowed = [\"gpt-5\"] }\n",
            ),
            user("[models]\ndefault = \"GPT-5\"\n"),
        ],
    );
    assert_eq!(eff.get("models.default"), Some(&json!("gpt-5")));
}

#[test]
fn a_team_file_adding_includes_keeps_the_baselines_within_and_excludes() {
    let eff = resolve(
        schema(),
        vec![
            system(
                SYSTEM,
                "[requirements]\n\"network.allowed_domains\" = { within = [\"*.acme.example\", \"github.com\"], excludes = [\"secret.acme.example\"] }\n",
            ),
            system(
                TEAM,
                "[requirements]\n\"network.allowed_domains\" = { includes = [\"git.acme.example\", \"pastebin.com\"] }\n",
            ),
            user(
                "[network]\nallowed_domains = [\"secret.acme.example\", \"evil.com\", \"github.com\"]\n",
            ),
        ],
    );
    // Only the one `includes` element the baseline refuses conflicts.
    assert_eq!(
        strings(&eff, "network.allowed_domains"),
        ["github.com", "git.acme.example"]
    );
    let conflicts: Vec<_> = eff
        .diagnostics
        .iter()
        .filter(|d| d.code == "conflict")
        .collect();
    assert_eq!(conflicts.len(), 1, "{conflicts:#?}");
    assert_eq!(conflicts[0].operator.as_deref(), Some("includes"));
    assert!(
        conflicts[0].message.contains("pastebin.com"),
        "{}",
        conflicts[0].message
    );
    // The baseline's excludes still holds.
    let refused = refused_ops(&eff, "network.allowed_domains");
    assert!(
        refused.contains(&(json!("secret.acme.example"), "excludes".into())),
        "{refused:?}"
    );
}

#[test]
fn a_conflicting_operator_leaves_the_others_of_its_constraint() {
    let eff = resolve(
        schema(),
        vec![
            system(
                TEAM,
                "[requirements]\n\"sandbox.mode\" = { value = \"read-only\" }\n",
            ),
            system(
                SYSTEM,
                "[requirements]\n\"sandbox.mode\" = { value = \"workspace-write\" }\n\"network.denied_domains\" = { includes = [\"pastebin.com\"] }\n",
            ),
        ],
    );
    assert_eq!(eff.get("sandbox.mode"), Some(&json!("read-only")));
    assert_eq!(strings(&eff, "network.denied_domains"), ["pastebin.com"]);
    let conflict = eff
        .diagnostics
        .iter()
        .find(|d| d.code == "conflict")
        .unwrap();
    assert_eq!(conflict.operator.as_deref(), Some("value"));
    assert_eq!(conflict.key.as_deref(), Some("sandbox.mode"));
}

fn host_spelling() -> impl Strategy<Value = (String, String)> {
    let label = prop_oneof![
        Just("secret"),
        Just("acme"),
        Just("example"),
        Just("bücher"),
        Just("xn--bcher-kva"),
        Just("a"),
    ];
    (
        proptest::collection::vec(label, 1..4),
        any::<bool>(),
        any::<bool>(),
        0u8..4,
    )
        .prop_map(|(labels, upper, dot, wrap)| {
            let host = labels.join(".");
            let mut s = if upper {
                host.to_uppercase()
            } else {
                host.clone()
            };
            if dot {
                s.push('.');
            }
            let s = match wrap {
                0 | 1 => s,
                2 => {
                    // A pattern one level up covers the host too.
                    match s.split_once('.') {
                        Some((_, parent)) if !parent.is_empty() && parent != "." => {
                            format!("*.{parent}")
                        }
                        _ => s,
                    }
                }
                _ => format!("{s}:443"),
            };
            (host, s)
        })
}

proptest! {
    /// An element that meets an `excludes` entry under any spelling never survives.
    #[test]
    fn excluded_hosts_never_survive((host, spelled) in host_spelling()) {
        let Ok(canonical) = normalise(ValueKind::Domain, &host) else { return Ok(()) };
        // The schema admits only plain host names and `*.` patterns in user lists.
        let Ok(element) = normalise(ValueKind::Domain, &spelled) else { return Ok(()) };
        let eff = resolve(
            schema(),
            vec![
                system(SYSTEM, &format!("[requirements]\n\"network.denied_domains\" = {{ includes = [] }}\n\"network.allowed_domains\" = {{ excludes = [{}] }}\n", json!(canonical))),
                Layer::parse_settings(schema(), SourceKind::Session, "-c", &format!("[network]\nallowed_domains = [{}]\n", json!(element))).unwrap(),
            ],
        );
        let left = strings(&eff, "network.allowed_domains");
        prop_assert!(left.is_empty(), "{} survived excludes {}", spelled, canonical);
    }

    /// An element `within` admits is never outside the entry once normalised.
    #[test]
    fn within_admits_nothing_outside(
        parts in proptest::collection::vec(prop_oneof![Just(".."), Just("."), Just("src"), Just("x"), Just("")], 0..7),
    ) {
        let candidate = format!("/home/ana/src/{}", parts.join("/"));
        let eff = resolve(
            schema(),
            vec![
                system(SYSTEM, "[requirements]\n\"sandbox.writable_roots\" = { within = [\"/home/ana/src/*\"] }\n"),
                user(&format!("[sandbox]\nwritable_roots = [{}]\n", json!(candidate))),
            ],
        );
        for kept in strings(&eff, "sandbox.writable_roots") {
            prop_assert!(kept.starts_with("/home/ana/src/") && !kept.contains("/..") && !kept.contains("/./"), "{} from {}", kept, candidate);
        }
    }
}
