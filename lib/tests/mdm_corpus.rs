//! The MDM side against real data: the corpus of public `.mobileconfig`
//! files, the example policies in `profiles/`, an independent plist reader
//! (Python's `plistlib`), and hostile plists.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
#![allow(clippy::print_stdout)] // skipped checks say so

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine as _;
use mandate::error::DocumentErrors;
use mandate::mdm::{
    MdmContent, PayloadKind, PlistFormat, PolicyInput, PolicyPayload, Profile, ProfileEnvelope,
    ProfileError, ProfileForm, ProfileOptions, Scope, build_mobileconfig, document_origin,
    install_preview, install_preview_as, jamf_schema, parse_plist, parse_profile,
    read_managed_plist,
};
use mandate::{Layer, Schema, SourceKind};

mod common;
use mandate::json;
use mandate::value::Value as Json;
use plist::Value;

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/mobileconfig");
    if dir.is_dir() {
        Some(dir)
    } else {
        common::skip(&format!("the corpus directory {} is absent", dir.display()));
        None
    }
}

fn corpus_file(dir: &Path, name: &str) -> Profile {
    let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    parse_profile(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn policies() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= 3,
        "expected the example policies in {}",
        dir.display()
    );
    out
}

/// Runs `f` on another thread and fails the test if it takes longer than 20 s.
fn within_time<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what}: did not finish within 20 seconds (or panicked)"))
}

fn read(path: &str, bytes: &[u8]) -> Result<MdmContent, DocumentErrors> {
    read_managed_plist(Schema::bundled(), SourceKind::Mdm, path, bytes)
}

// ---------------------------------------------------------------------------
// The corpus

#[test]
fn every_corpus_file_parses_without_panic() {
    let Some(dir) = corpus_dir() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.extend(
        std::fs::read_dir(dir.join("binary-plist"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    files.sort();
    let mut profiles = 0;
    for path in files.iter().filter(|p| p.is_file()) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        // Every file is a readable plist or a recognised CMS message, and
        // reading it as managed preferences gives errors, never a panic.
        let as_managed = read(&name, &bytes);
        if name.ends_with(".mobileconfig") {
            let profile = parse_profile(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                !profile.identifier.is_empty() && !profile.uuid.is_empty(),
                "{name}"
            );
            assert!(!profile.payloads.is_empty(), "{name}");
            let e = as_managed
                .expect_err("a profile is not a managed preferences plist")
                .to_string();
            assert!(e.contains("configuration profile"), "{name}: {e}");
            profiles += 1;
        } else {
            parse_plist(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(parse_profile(&bytes).is_err(), "{name} is not a profile");
        }
    }
    assert!(profiles >= 24, "{profiles} profiles");
}

/// (file, scope, envelope, [(payload type, kind, domains)])
type Expectation = (
    &'static str,
    Option<Scope>,
    ProfileEnvelope,
    &'static [(&'static str, PayloadKind, &'static [&'static str])],
);

const MC: &str = "com.apple.ManagedClient.preferences";
const PLAIN: ProfileEnvelope = ProfileEnvelope::Plain;
const SYSTEM: Option<Scope> = Some(Scope::System);

const EXPECTED: &[Expectation] = &[
    (
        "rtrouton__DisableOffice2016Telemetry.mobileconfig",
        SYSTEM,
        PLAIN,
        &[
            (
                MC,
                PayloadKind::ManagedClient,
                &["com.microsoft.errorreporting"],
            ),
            (MC, PayloadKind::ManagedClient, &["com.microsoft.Word"]),
            (MC, PayloadKind::ManagedClient, &["com.microsoft.Excel"]),
            (
                MC,
                PayloadKind::ManagedClient,
                &["com.microsoft.Powerpoint"],
            ),
            (MC, PayloadKind::ManagedClient, &["com.microsoft.Outlook"]),
            (
                MC,
                PayloadKind::ManagedClient,
                &["com.microsoft.onenote.mac"],
            ),
        ],
    ),
    (
        "rtrouton__EnableMicrosoftOutlookLogging.mobileconfig",
        SYSTEM,
        PLAIN,
        &[(
            "com.microsoft.Outlook",
            PayloadKind::CustomSettings,
            &["com.microsoft.Outlook"],
        )],
    ),
    (
        "rtrouton__OpenSafariAtLogin.mobileconfig",
        SYSTEM,
        PLAIN,
        &[
            (
                "com.apple.loginitems.managed",
                PayloadKind::CustomSettings,
                &["com.apple.loginitems.managed"],
            ),
            (
                "com.apple.loginwindow",
                PayloadKind::CustomSettings,
                &["com.apple.loginwindow"],
            ),
        ],
    ),
    (
        "rtrouton__Disable32BitApplicationWarning-10.13-GlobalPreferences.mobileconfig",
        SYSTEM,
        PLAIN,
        &[(
            ".GlobalPreferences",
            PayloadKind::CustomSettings,
            &[".GlobalPreferences"],
        )],
    ),
    (
        "rtrouton__EnableFullDiskAccessforSSH.mobileconfig",
        SYSTEM,
        PLAIN,
        &[
            (
                "com.apple.systempreferences",
                PayloadKind::CustomSettings,
                &["com.apple.systempreferences"],
            ),
            (
                "com.apple.TCC.configuration-profile-policy",
                PayloadKind::Apple,
                &[],
            ),
        ],
    ),
    (
        "rtrouton__EnableAutomaticDownloadandInstallofOffice2019Updates.mobileconfig",
        SYSTEM,
        PLAIN,
        &[(
            MC,
            PayloadKind::ManagedClient,
            &["com.microsoft.autoupdate2"],
        )],
    ),
    (
        "neilmartin83__Stop_DS_Store-SetOnce-and-Forced.mobileconfig",
        SYSTEM,
        PLAIN,
        &[
            (MC, PayloadKind::ManagedClient, &[".GlobalPreferences"]),
            (
                MC,
                PayloadKind::ManagedClient,
                &["com.apple.desktopservices"],
            ),
        ],
    ),
    (
        "clburlison__Disable_FUS_Menu_Item-real.mobileconfig",
        SYSTEM,
        PLAIN,
        &[(MC, PayloadKind::ManagedClient, &["com.apple.mcxMenuExtras"])],
    ),
    (
        "clburlison__MouseRightClick-SetOnce-timestamp.mobileconfig",
        SYSTEM,
        PLAIN,
        &[(
            MC,
            PayloadKind::ManagedClient,
            &["com.apple.driver.AppleHIDMouse"],
        )],
    ),
    (
        "clburlison__crypt-trailing-NUL-bytes.mobileconfig",
        SYSTEM,
        PLAIN,
        &[(
            "com.grahamgilbert.crypt",
            PayloadKind::CustomSettings,
            &["com.grahamgilbert.crypt"],
        )],
    ),
    (
        "intune-samples__Docker_Desktop-Sign-in_Enforcement-leading-space.mobileconfig",
        SYSTEM,
        PLAIN,
        &[(
            "com.docker.config",
            PayloadKind::CustomSettings,
            &["com.docker.config"],
        )],
    ),
    (
        "encrypted-dns__360-default-https-SIGNED-CMS-DER.mobileconfig",
        SYSTEM,
        ProfileEnvelope::CmsSignedUnverified,
        &[("com.apple.dnsSettings.managed", PayloadKind::Apple, &[])],
    ),
    (
        "kandji__Okta_Verify_Configuration_Template-CRLF-comments.mobileconfig",
        SYSTEM,
        PLAIN,
        &[
            (
                "com.okta.mobile",
                PayloadKind::CustomSettings,
                &["com.okta.mobile"],
            ),
            (
                "com.okta.mobile.auth-service-extension",
                PayloadKind::CustomSettings,
                &["com.okta.mobile.auth-service-extension"],
            ),
        ],
    ),
    (
        "kandji__custom_wifi_scep_certchain_example.mobileconfig",
        None,
        PLAIN,
        &[
            ("com.apple.wifi.managed", PayloadKind::Apple, &[]),
            ("com.apple.security.scep", PayloadKind::Apple, &[]),
            ("com.apple.security.pkcs1", PayloadKind::Apple, &[]),
            ("com.apple.security.pkcs1", PayloadKind::Apple, &[]),
        ],
    ),
    (
        "kandji__bitdefender_settings.mobileconfig",
        SYSTEM,
        PLAIN,
        &[
            ("com.apple.notificationsettings", PayloadKind::Apple, &[]),
            ("com.apple.system-extension-policy", PayloadKind::Apple, &[]),
            (
                "com.apple.TCC.configuration-profile-policy",
                PayloadKind::Apple,
                &[],
            ),
            ("com.apple.security.root", PayloadKind::Apple, &[]),
            ("com.apple.webcontent-filter", PayloadKind::Apple, &[]),
        ],
    ),
    (
        "intune-samples__Google_Chrome-Managed_Bookmarks-CRLF.mobileconfig",
        SYSTEM,
        PLAIN,
        &[(
            "com.google.Chrome",
            PayloadKind::CustomSettings,
            &["com.google.Chrome"],
        )],
    ),
    (
        "nudge__com.github.macadmins.Nudge-nonASCII.mobileconfig",
        SYSTEM,
        PLAIN,
        &[(
            "com.github.macadmins.Nudge",
            PayloadKind::CustomSettings,
            &["com.github.macadmins.Nudge"],
        )],
    ),
    (
        "mdatp-xplat__com.microsoft.wdav-DLP.mobileconfig",
        SYSTEM,
        PLAIN,
        &[(
            "com.microsoft.wdav",
            PayloadKind::CustomSettings,
            &["com.microsoft.wdav"],
        )],
    ),
];

#[test]
fn corpus_payload_types_and_domains() {
    let Some(dir) = corpus_dir() else { return };
    for (name, scope, envelope, payloads) in EXPECTED {
        let profile = corpus_file(&dir, name);
        assert_eq!(profile.scope, *scope, "{name}");
        assert_eq!(profile.envelope, *envelope, "{name}");
        let found: Vec<(&str, PayloadKind, Vec<&str>)> = profile
            .payloads
            .iter()
            .map(|p| {
                (
                    p.payload_type.as_str(),
                    p.kind,
                    p.domains.iter().map(|(d, _)| d.as_str()).collect(),
                )
            })
            .collect();
        let expected: Vec<(&str, PayloadKind, Vec<&str>)> = payloads
            .iter()
            .map(|(t, k, d)| (*t, *k, d.to_vec()))
            .collect();
        assert_eq!(found, expected, "{name}");
    }
}

fn forced<'p>(profile: &'p Profile, domain: &str) -> &'p plist::Dictionary {
    profile
        .payloads
        .iter()
        .flat_map(|p| &p.domains)
        .find(|(d, _)| d == domain)
        .map(|(_, prefs)| &prefs.forced)
        .unwrap_or_else(|| panic!("no domain {domain}"))
}

#[test]
fn corpus_values() {
    let Some(dir) = corpus_dir() else { return };
    // Office telemetry: each app forces the same three keys.
    let office = corpus_file(&dir, "rtrouton__DisableOffice2016Telemetry.mobileconfig");
    assert_eq!(office.identifier, "ECF32F94-E3A0-4B9D-B164-0641763A9062");
    let word = forced(&office, "com.microsoft.Word");
    assert_eq!(
        word.get("SendAllTelemetryEnabled"),
        Some(&Value::Boolean(false))
    );
    assert_eq!(word.len(), 3);
    assert_eq!(
        forced(&office, "com.microsoft.errorreporting").get("IsAttachedEnabled"),
        Some(&Value::Boolean(false))
    );

    // A <real> survives as a real; mcx_targets is MCX metadata, not a preference.
    let fus = corpus_file(&dir, "clburlison__Disable_FUS_Menu_Item-real.mobileconfig");
    let extras = forced(&fus, "com.apple.mcxMenuExtras");
    assert_eq!(extras.get("delaySeconds"), Some(&Value::Real(2.0)));
    assert_eq!(extras.get("User.menu"), Some(&Value::Boolean(false)));

    // Set-Once with a timestamp (MCX "Once") and without one (MCX "Often").
    let mouse = corpus_file(
        &dir,
        "clburlison__MouseRightClick-SetOnce-timestamp.mobileconfig",
    );
    let prefs = &mouse.payloads[0].domains[0].1;
    assert!(prefs.forced.is_empty());
    assert_eq!(
        prefs.set_once[0].timestamp.as_deref(),
        Some("2013-12-06T18:58:51Z")
    );
    assert_eq!(
        prefs.set_once[0].settings.get("Button2"),
        Some(&Value::Integer(2.into()))
    );
    let ds = corpus_file(
        &dir,
        "neilmartin83__Stop_DS_Store-SetOnce-and-Forced.mobileconfig",
    );
    assert_eq!(ds.payloads[0].domains[0].1.set_once[0].timestamp, None);
    // A boolean written as a string stays a string: no coercion.
    assert_eq!(
        forced(&ds, "com.apple.desktopservices").get("DSDontWriteNetworkStores"),
        Some(&Value::String("true".into()))
    );

    // Non-ASCII text and dates inside a custom settings payload.
    let nudge = corpus_file(
        &dir,
        "nudge__com.github.macadmins.Nudge-nonASCII.mobileconfig",
    );
    let text = format!("{:?}", forced(&nudge, "com.github.macadmins.Nudge"));
    assert!(text.contains("Date("), "dates stay dates");
    assert!(!text.is_ascii(), "non-ASCII strings survive");

    // The signed profile's content is its unsigned sibling.
    let signed = corpus_file(
        &dir,
        "encrypted-dns__360-default-https-SIGNED-CMS-DER.mobileconfig",
    );
    let unsigned = corpus_file(
        &dir,
        "encrypted-dns__360-default-https-unsigned-emoji.mobileconfig",
    );
    assert_eq!(signed.payloads, unsigned.payloads);
    assert_eq!(signed.uuid, "8B0370F5-EAC9-5A92-B6DF-A0D3B9023F12");
    assert!(
        signed
            .description
            .as_deref()
            .is_some_and(|d| d.contains("🇨🇳"))
    );

    // Kandji's custom settings payload lists its variables inline.
    let kandji = corpus_file(&dir, "kandji__Global_Variables.mobileconfig");
    assert_eq!(forced(&kandji, "io.kandji.globalvariables").len(), 17);
}

#[test]
fn a_signed_profile_is_refused_as_managed_preferences() {
    let Some(dir) = corpus_dir() else { return };
    let bytes =
        std::fs::read(dir.join("encrypted-dns__360-default-https-SIGNED-CMS-DER.mobileconfig"))
            .unwrap();
    let e = read("/Library/Managed Preferences/dev.mandate.plist", &bytes).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/Library/Managed Preferences/dev.mandate.plist: a signed configuration profile (CMS), not a managed preferences plist: install it with the MDM, then read the file macOS writes"
    );
    // A damaged signed profile is a clear error, not a panic.
    let e = parse_profile(&bytes[..bytes.len() / 3]).unwrap_err();
    assert!(matches!(e, ProfileError::Cms { .. }), "{e}");
}

#[test]
fn corpus_previews_write_what_was_forced() {
    let Some(dir) = corpus_dir() else { return };
    for (name, _, _, _) in EXPECTED {
        let profile = corpus_file(&dir, name);
        let root = tempfile::tempdir().unwrap();
        let written = install_preview(&profile, root.path(), Some("ana"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut merged: BTreeMap<&str, plist::Dictionary> = BTreeMap::new();
        for payload in profile.payloads.iter().filter(|p| p.enabled) {
            for (domain, prefs) in &payload.domains {
                let entry = merged.entry(domain).or_default();
                for (k, v) in &prefs.forced {
                    entry.insert(k.clone(), v.clone());
                }
            }
        }
        merged.retain(|_, d| !d.is_empty());
        assert_eq!(written.len(), merged.len(), "{name}");
        for path in &written {
            let domain = path.file_stem().unwrap().to_string_lossy().into_owned();
            let parsed = parse_plist(&std::fs::read(path).unwrap()).unwrap();
            assert_eq!(
                parsed.value,
                Value::Dictionary(merged[domain.as_str()].clone()),
                "{name}: {domain}"
            );
            let under = if profile.effective_scope() == Scope::System {
                "Library/Managed Preferences"
            } else {
                "Library/Managed Preferences/ana"
            };
            assert_eq!(path.parent().unwrap(), root.path().join(under), "{name}");
        }
    }
}

// ---------------------------------------------------------------------------
// Round trips: policy TOML → profile → what macOS writes → read_managed_plist

/// Settings and requirements of a layer in a comparable form.
type Digest = (Vec<(String, Json)>, Vec<(String, String)>);

fn digest(layer: &Layer) -> Digest {
    let mut settings: Vec<(String, Json)> = layer
        .settings
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect();
    let mut requirements: Vec<(String, String)> = layer
        .requirements
        .iter()
        .map(|e| (e.key.clone(), format!("{:?}", e.value)))
        .collect();
    settings.sort_by(|a, b| a.0.cmp(&b.0));
    requirements.sort();
    (settings, requirements)
}

fn fake_bundle(document: &str) -> Vec<u8> {
    let payload = base64::engine::general_purpose::STANDARD.encode(document);
    serde_json::to_vec(&json!({
        "payloadType": "application/vnd.mandate.policy+toml",
        "payload": payload,
        "signatures": [],
    }))
    .unwrap()
}

#[test]
fn example_policies_round_trip_through_profiles() {
    let schema = Schema::bundled();
    for (name, text) in policies() {
        let original = Layer::parse_policy(schema, SourceKind::Mdm, &name, &text)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = digest(&original);
        assert!(!expected.0.is_empty() && !expected.1.is_empty(), "{name}");
        for form in [ProfileForm::ManagedClient, ProfileForm::CustomSettings] {
            for scope in [Scope::System, Scope::User] {
                for (label, input) in [
                    ("document", PolicyInput::Document(text.clone())),
                    ("native", PolicyInput::NativeFrom(text.clone())),
                    ("bundle", PolicyInput::Bundle(fake_bundle(&text))),
                ] {
                    let what = format!("{name} {label} {form:?} {scope:?}");
                    let opts = ProfileOptions {
                        scope,
                        form,
                        ..ProfileOptions::new("com.example.mandate", "Example Corp")
                    };
                    let bytes =
                        build_mobileconfig(&input, &opts).unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert_eq!(
                        bytes,
                        build_mobileconfig(&input, &opts).unwrap(),
                        "{what}: deterministic"
                    );
                    let profile = parse_profile(&bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
                    let root = tempfile::tempdir().unwrap();
                    for format in [PlistFormat::Binary, PlistFormat::Xml] {
                        let written =
                            install_preview_as(&profile, root.path(), Some("ana"), format).unwrap();
                        assert_eq!(written.len(), 1, "{what}");
                        let path = written[0].to_string_lossy().into_owned();
                        let source = if scope == Scope::System {
                            SourceKind::Mdm
                        } else {
                            SourceKind::MdmUser
                        };
                        assert!(path.ends_with(match scope {
                            Scope::System => "Library/Managed Preferences/dev.mandate.plist",
                            Scope::User => "Library/Managed Preferences/ana/dev.mandate.plist",
                        }));
                        let content = read_managed_plist(
                            schema,
                            source,
                            &path,
                            &std::fs::read(&written[0]).unwrap(),
                        )
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                        assert!(content.trust_root.is_none());
                        match &input {
                            PolicyInput::Document(_) => {
                                assert_eq!(
                                    content.policy,
                                    Some(PolicyPayload::Document(text.clone())),
                                    "{what}"
                                );
                                assert!(content.native.is_none());
                                let layer = Layer::parse_policy(
                                    schema,
                                    source,
                                    document_origin(&path),
                                    &text,
                                )
                                .unwrap();
                                assert_eq!(digest(&layer), expected, "{what}");
                            }
                            PolicyInput::Bundle(bytes) => {
                                assert_eq!(
                                    content.policy,
                                    Some(PolicyPayload::Bundle(bytes.clone())),
                                    "{what}"
                                );
                            }
                            PolicyInput::NativeFrom(_) => {
                                assert!(content.policy.is_none());
                                let layer = content.native.expect("native layer");
                                assert_eq!(layer.source, source);
                                assert_eq!(digest(&layer), expected, "{what}");
                                for entry in &layer.requirements {
                                    assert_eq!(
                                        entry.location.to_string(),
                                        format!("{path}: Requirements > {}", entry.key),
                                        "{what}"
                                    );
                                }
                                for entry in &layer.settings {
                                    let shown = entry.location.to_string();
                                    assert!(
                                        shown.starts_with(&format!("{path}: Settings > ")),
                                        "{what}: {shown}"
                                    );
                                    assert!(
                                        shown.ends_with(&entry.key.replace('.', " > ")),
                                        "{what}: {shown}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn trust_roots_round_trip() {
    let (_, text) = &policies()[0];
    let trust = b"version = 1\nexpires = 2027-06-01T00:00:00Z\n".to_vec();
    let opts = ProfileOptions {
        trust_root: Some(trust.clone()),
        ..ProfileOptions::new("com.example.mandate", "Example Corp")
    };
    let bytes = build_mobileconfig(&PolicyInput::Document(text.clone()), &opts).unwrap();
    let root = tempfile::tempdir().unwrap();
    let written = install_preview(&parse_profile(&bytes).unwrap(), root.path(), None).unwrap();
    let content = read("dev.mandate.plist", &std::fs::read(&written[0]).unwrap()).unwrap();
    assert_eq!(content.trust_root, Some(trust));
    assert!(matches!(content.policy, Some(PolicyPayload::Document(_))));
}

// ---------------------------------------------------------------------------
// An independent reader: Python's plistlib

const PYTHON_READER: &str = r#"
import base64, datetime, json, plistlib, sys

def plain(value):
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return {"$data": base64.b64encode(value).decode()}
    if isinstance(value, datetime.datetime):
        return {"$date": value.isoformat()}
    return value

out = {}
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        out[path] = plain(plistlib.load(f))
print(json.dumps(out))
"#;

fn python3() -> Option<()> {
    match Command::new("python3").arg("--version").output() {
        Ok(out) if out.status.success() => Some(()),
        _ => {
            common::skip("python3 is not installed, so the independent plistlib check cannot run");
            None
        }
    }
}

/// Replaces UUIDs (after checking their form) and descriptions with placeholders.
fn normalise(value: &mut Json) {
    match value {
        Json::Object(map) => {
            for (key, inner) in map.iter_mut() {
                match key.as_str() {
                    "PayloadUUID" => {
                        let uuid = inner.as_str().expect("a UUID string");
                        let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
                        assert_eq!(groups, [8, 4, 4, 4, 12], "{uuid}");
                        assert!(
                            uuid.chars().all(|c| c == '-'
                                || c.is_ascii_digit()
                                || ('A'..='F').contains(&c))
                        );
                        assert_eq!(&uuid[14..15], "5", "{uuid}");
                        *inner = json!("UUID");
                    }
                    "PayloadDescription" => {
                        assert!(inner.as_str().is_some_and(|d| d.contains("dev.mandate")));
                        *inner = json!("DESCRIPTION");
                    }
                    _ => normalise(inner),
                }
            }
        }
        Json::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

/// What a built profile should contain, as plistlib sees it.
fn meant(input: &PolicyInput, opts: &ProfileOptions) -> Json {
    let mut prefs = mandate::value::Map::new();
    match input {
        PolicyInput::Document(text) => {
            prefs.insert("Policy".into(), json!(text));
        }
        PolicyInput::Bundle(bytes) => {
            prefs.insert(
                "Policy".into(),
                json!({"$data": base64::engine::general_purpose::STANDARD.encode(bytes)}),
            );
        }
        PolicyInput::NativeFrom(text) => {
            let doc: toml_like::Doc = toml_like::parse(text);
            prefs.insert("Settings".into(), doc.settings);
            prefs.insert("Requirements".into(), doc.requirements);
        }
    }
    let scope = match opts.scope {
        Scope::System => "System",
        Scope::User => "User",
    };
    let mut payload = json!({
        "PayloadDisplayName": "mandate agent policy (dev.mandate)",
        "PayloadEnabled": true,
        "PayloadIdentifier": "com.example.mandate.dev.mandate",
        "PayloadOrganization": "Example Corp",
        "PayloadUUID": "UUID",
        "PayloadVersion": 1,
    });
    let map = payload.as_object_mut().unwrap();
    match opts.form {
        ProfileForm::ManagedClient => {
            map.insert(
                "PayloadType".into(),
                json!("com.apple.ManagedClient.preferences"),
            );
            map.insert(
                "PayloadContent".into(),
                json!({"dev.mandate": {"Forced": [{"mcx_preference_settings": prefs}]}}),
            );
        }
        ProfileForm::CustomSettings => {
            map.insert("PayloadType".into(), json!("dev.mandate"));
            map.extend(prefs);
        }
    }
    json!({
        "PayloadContent": [payload],
        "PayloadDescription": "DESCRIPTION",
        "PayloadDisplayName": "mandate agent policy",
        "PayloadIdentifier": "com.example.mandate",
        "PayloadOrganization": "Example Corp",
        "PayloadRemovalDisallowed": true,
        "PayloadScope": scope,
        "PayloadType": "Configuration",
        "PayloadUUID": "UUID",
        "PayloadVersion": 1,
    })
}

/// The policy documents' [settings] and [requirements] as JSON, read with
/// the library's own TOML reader (what `NativeFrom` converts).
mod toml_like {
    use mandate::value::Value as Json;

    pub struct Doc {
        pub settings: Json,
        pub requirements: Json,
    }

    pub fn parse(text: &str) -> Doc {
        let tree = mandate::document::TomlTree::parse("policy", text)
            .unwrap()
            .tree;
        Doc {
            settings: tree.get("settings").cloned().unwrap_or(Json::Null),
            requirements: tree.get("requirements").cloned().unwrap_or(Json::Null),
        }
    }
}

#[test]
fn python_plistlib_reads_what_we_meant() {
    if python3().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut expected = BTreeMap::new();
    for (name, text) in policies() {
        for form in [ProfileForm::ManagedClient, ProfileForm::CustomSettings] {
            for scope in [Scope::System, Scope::User] {
                for (label, input) in [
                    ("document", PolicyInput::Document(text.clone())),
                    ("native", PolicyInput::NativeFrom(text.clone())),
                    ("bundle", PolicyInput::Bundle(fake_bundle(&text))),
                ] {
                    let opts = ProfileOptions {
                        scope,
                        form,
                        ..ProfileOptions::new("com.example.mandate", "Example Corp")
                    };
                    let bytes = build_mobileconfig(&input, &opts).unwrap();
                    let path = dir
                        .path()
                        .join(format!("{name}-{label}-{form:?}-{scope:?}.mobileconfig"));
                    std::fs::write(&path, bytes).unwrap();
                    expected.insert(path.to_string_lossy().into_owned(), meant(&input, &opts));
                }
            }
        }
    }
    let output = Command::new("python3")
        .arg("-c")
        .arg(PYTHON_READER)
        .args(expected.keys())
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "plistlib failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut read: mandate::value::Map = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(read.len(), expected.len());
    for (path, meant) in expected {
        let mut got = read.remove(&path).unwrap();
        normalise(&mut got);
        assert_eq!(got, meant, "{path}");
    }
}

// ---------------------------------------------------------------------------
// Jamf: the form accepts what the reader reads

#[test]
fn jamf_schema_accepts_native_policies() {
    let jamf = jamf_schema(Schema::bundled(), "dev.mandate");
    let validator =
        jsonschema::validator_for(&(&jamf).into()).expect("the Jamf schema is a valid JSON Schema");
    for (name, text) in policies() {
        let doc = toml_like::parse(&text);
        let instance = json!({ "Settings": doc.settings, "Requirements": doc.requirements });
        let errors: Vec<String> = validator
            .iter_errors(&(&instance).into())
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
    let wrong = json!({ "Settings": { "sandbox": { "mode": "chaos" } } });
    assert!(!validator.is_valid(&(&wrong).into()));
}

// ---------------------------------------------------------------------------
// Hostile and broken plists: clear errors, never a panic or a hang

fn managed_file(document: &str) -> Vec<u8> {
    let bytes = build_mobileconfig(
        &PolicyInput::NativeFrom(document.into()),
        &ProfileOptions::new("com.example.mandate", "Example Corp"),
    )
    .unwrap();
    let root = tempfile::tempdir().unwrap();
    let written = install_preview(&parse_profile(&bytes).unwrap(), root.path(), None).unwrap();
    std::fs::read(&written[0]).unwrap()
}

fn expect_error(what: &str, bytes: Vec<u8>, needle: &'static str) {
    let label = what.to_owned();
    let result = within_time(what, move || {
        read("/Library/Managed Preferences/dev.mandate.plist", &bytes).map(|_| ())
    });
    let e = result.expect_err(&label).to_string();
    assert!(
        e.starts_with("/Library/Managed Preferences/dev.mandate.plist"),
        "{label}: {e}"
    );
    assert!(e.contains(needle), "{label}: expected {needle:?} in {e}");
}

#[test]
fn truncated_binary_plists() {
    let (_, text) = &policies()[0];
    let full = managed_file(text);
    assert!(full.starts_with(b"bplist00"));
    assert!(read("x", &full).is_ok());
    for cut in [
        6,
        8,
        9,
        16,
        full.len() / 4,
        full.len() / 2,
        full.len() - 33,
        full.len() - 1,
    ] {
        expect_error(
            &format!("cut at {cut}"),
            full[..cut].to_vec(),
            "not a valid property list",
        );
    }
    // Flipped bytes in the trailer and in the offset table.
    for at in [
        full.len() - 1,
        full.len() - 9,
        full.len() - 25,
        full.len() - 26,
    ] {
        let mut broken = full.clone();
        broken[at] ^= 0xFF;
        let label = format!("flipped byte {at}");
        let result = within_time(&label, move || read("x", &broken).map(|_| ()));
        assert!(result.is_err(), "{label}");
    }
}

fn bplist(objects: &[&[u8]]) -> Vec<u8> {
    let mut out = b"bplist00".to_vec();
    let mut offsets = Vec::new();
    for object in objects {
        offsets.push(u8::try_from(out.len()).unwrap());
        out.extend_from_slice(object);
    }
    let table = out.len() as u64;
    out.extend(&offsets);
    out.extend([0u8; 6]);
    out.extend([1u8, 1u8]);
    out.extend((objects.len() as u64).to_be_bytes());
    out.extend(0u64.to_be_bytes());
    out.extend(table.to_be_bytes());
    out
}

#[test]
fn circular_references() {
    // { "Settings": <itself> }
    expect_error(
        "dict containing itself",
        bplist(&[&[0xD1, 0x01, 0x00], b"\x58Settings"]),
        "recursive object",
    );
    // [ [ <the outer array> ] ] under Requirements.
    expect_error(
        "two arrays in a cycle",
        bplist(&[
            &[0xD1, 0x01, 0x02],
            b"\x5CRequirements",
            &[0xA1, 0x03],
            &[0xA1, 0x02],
        ]),
        "recursive object",
    );
}

#[test]
fn deep_nesting_and_huge_arrays() {
    let xml = |body: &str| {
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>{body}</dict></plist>").into_bytes()
    };
    let deep = format!(
        "<key>Settings</key>{}<true/>{}",
        "<dict><key>k</key>".repeat(200_000),
        "</dict>".repeat(200_000)
    );
    expect_error(
        "200 000 nested dictionaries",
        xml(&deep),
        "nested deeper than 32 levels",
    );
    let limit = mandate::mdm::MAX_ELEMENTS;
    let huge = format!(
        "<key>Settings</key><dict><key>network.allowed_domains</key><array>{}</array></dict>",
        "<true/>".repeat(limit + 1)
    );
    let message: &'static str = format!("more than {limit} elements").leak();
    expect_error("one element too many", xml(&huge), message);
    // Exponentially shared objects in a binary plist.
    let mut objects: Vec<Vec<u8>> = vec![vec![0xD1, 0x01, 0x02], b"\x58Settings".to_vec()];
    for i in 0..10u8 {
        let mut level = vec![0xAF, 0x10, 14];
        level.extend(std::iter::repeat_n(i + 3, 14));
        objects.push(level);
    }
    objects.push(vec![0x09]);
    let refs: Vec<&[u8]> = objects.iter().map(Vec::as_slice).collect();
    expect_error("shared-object bomb", bplist(&refs), "expands to more than");
}

#[test]
fn wrong_types_for_settings() {
    let xml = |body: &str| {
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>{body}</dict></plist>").into_bytes()
    };
    for (body, needle) in [
        (
            "<key>Settings</key><dict><key>sandbox.network</key><string>true</string></dict>",
            "Settings > sandbox.network: \"sandbox.network\": expected a boolean, <true/> or <false/>, found <string>true</string>",
        ),
        (
            "<key>Settings</key><dict><key>sandbox</key><dict><key>mode</key><integer>1</integer></dict></dict>",
            "Settings > sandbox > mode: \"sandbox.mode\": expected a string (<string>), found <integer>1</integer>",
        ),
        (
            "<key>Settings</key><dict><key>commands.rules</key><array><dict><key>pattern</key><string>git</string><key>decision</key><string>allow</string></dict></array></dict>",
            "Settings > commands.rules > 0 > pattern: \"commands.rules\": expected a list (<array>)",
        ),
        (
            "<key>Requirements</key><dict><key>sandbox.mode</key><string>read-only</string></dict>",
            "Requirements > sandbox.mode: the requirement on \"sandbox.mode\" must be a table of operators",
        ),
        (
            "<key>Requirements</key><dict><key>mcp.managed_only</key><dict><key>value</key><integer>1</integer></dict></dict>",
            "Requirements > mcp.managed_only > value: \"mcp.managed_only\": expected a boolean",
        ),
        (
            "<key>Settings</key><array/>",
            "Settings: `Settings` must be a <dict>, found an <array>",
        ),
    ] {
        expect_error(body, xml(body), needle);
    }
}

#[test]
fn policies_that_are_neither_bundle_nor_document() {
    let xml = |body: &str| {
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>{body}</dict></plist>").into_bytes()
    };
    for (body, needle) in [
        (
            "<key>Policy</key><string>just some words</string>",
            "`Policy` must be a signed bundle, a policy document",
        ),
        (
            "<key>Policy</key><string>{ \"half\": </string>",
            "should be a signed bundle, but it is not valid JSON",
        ),
        (
            "<key>Policy</key><string>{\"signatures\": []}</string>",
            "is JSON but not a signed bundle",
        ),
        (
            "<key>Policy</key><data>3q2+7w==</data>",
            "neither a signed bundle (JSON) nor a policy document",
        ),
        (
            "<key>Policy</key><true/>",
            "`Policy` must be a signed bundle or a policy document",
        ),
        (
            "<key>Policy</key><string>[settings]\nsandbox.mode = \"everything\"\n</string>",
            "> Policy:2:",
        ),
    ] {
        expect_error(body, xml(body), needle);
    }
}
