//! `sync` against loopback servers that play every network fault. In each
//! case the cached last known good bundle must stay byte for byte, verify,
//! stay in force, and the failure must be reported.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mandate::Environment;
use mandate::cloud::{
    self, CacheMeta, CacheState, CachedCloud, Fetched, Fetcher, Phase, Standing, SyncChange,
    SyncError, SyncOptions, SyncOutcome, TlsProblem,
};
use mandate::fsafe::TrustedTree;
use mandate::paths::Platform;
use mandate::resolve::SourceStatus;
use mandate::trust::root::TrustRoot;
use support::{
    ID, NOW, Pki, Policy, Reply, Request, Server, closed_port, gzip_bomb, key, static_file,
};

const PLATFORM: Platform = Platform::Linux;
const PATH: &str = "/acme/cloud/acme-baseline.bundle";

/// A device: a `--root` tree with a CA file and a trust root.
struct Device {
    _dir: tempfile::TempDir,
    tree: TrustedTree,
    root: TrustRoot,
    ca: PathBuf,
}

impl Device {
    fn new(pki: &Pki, bundle: Option<&str>) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let tree = TrustedTree::under(dir.path()).unwrap();
        let ca = dir.path().join("ca.pem");
        pki.write_ca(&ca);
        Device {
            root: support::trust_root("https://127.0.0.1/acme/cloud/acme-baseline.bundle", bundle),
            _dir: dir,
            tree,
            ca,
        }
    }

    fn options(&self, url: String) -> SyncOptions {
        let mut options = SyncOptions::new(url);
        options.ca_file = Some(self.ca.clone());
        options.connect_timeout = Duration::from_secs(1);
        options.timeout = Duration::from_secs(2);
        options.retries = 0;
        options.backoff = Duration::from_millis(10);
        options.max_backoff = Duration::from_secs(2);
        options
    }

    fn sync(&self, options: &SyncOptions) -> Result<SyncOutcome, SyncError> {
        let mut state = cloud::load_state(&self.tree, PLATFORM).unwrap();
        cloud::sync(options, &self.tree, PLATFORM, &self.root, &mut state, NOW)
    }

    fn cached(&self) -> CachedCloud {
        let state = cloud::load_state(&self.tree, PLATFORM).unwrap();
        cloud::read_cached(&self.tree, PLATFORM, Some(&self.root), &state, NOW)
    }

    fn cache_dir(&self) -> PathBuf {
        self.tree.real(&PLATFORM.state_dir().join("cloud"))
    }

    fn cache_bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(self.cache_dir().join("bundle")).ok()
    }

    fn meta(&self) -> Option<CacheMeta> {
        CacheMeta::parse(&std::fs::read(self.cache_dir().join("meta.json")).ok()?).ok()
    }

    fn recorded_version(&self) -> Option<u64> {
        let state = cloud::load_state(&self.tree, PLATFORM).unwrap();
        state
            .record_for(mandate::trust::header::Channel::Cloud, ID)
            .map(|r| r.version)
    }
}

/// A device that synced version 5 from a good server (returned, to play faults next).
fn seeded() -> (Pki, Device, Server) {
    let pki = Pki::new("test CA");
    let device = Device::new(&pki, Some(ID));
    let server = Server::start(
        &pki.server(&["127.0.0.1", "localhost"]),
        static_file(Policy::version(5).bundle()),
    );
    let outcome = device.sync(&device.options(server.url(PATH))).unwrap();
    assert_eq!(outcome.change, SyncChange::Updated { from: None });
    assert_eq!(outcome.bundle.version, 5);
    (pki, device, server)
}

/// Syncs with `options`, expects the error `code`, and checks that version 5
/// stays cached, verified and in force, with the failure reported.
fn assert_fault(device: &Device, options: &SyncOptions, code: &str) -> SyncError {
    let before = device.cache_bytes().unwrap();
    let started = Instant::now();
    let error = device.sync(options).unwrap_err();
    assert_eq!(error.code(), code, "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{code} took {:?}",
        started.elapsed()
    );
    assert_eq!(
        device.cache_bytes().unwrap(),
        before,
        "the cache changed after {code}"
    );
    assert_eq!(device.recorded_version(), Some(5));
    let cached = device.cached();
    assert_eq!(cached.standing(), Standing::InForce, "{code}");
    assert_eq!(cached.bundle().unwrap().header.version, 5);
    let report = cached.source_report();
    assert_eq!(report.status, SourceStatus::Verified);
    assert_eq!(report.version, Some(5));
    assert_eq!(
        report.details["last_sync_error"]["code"], code,
        "{:?}",
        report.details
    );
    assert!(
        cached
            .diagnostics()
            .iter()
            .any(|d| d.code == "cloud-sync-failed"
                && d.message
                    .contains("the last known good copy stays in force")),
        "{:?}",
        cached.diagnostics()
    );
    error
}

fn serve(server: &Server, reply: Reply) {
    server.set(Arc::new(move |_: &Request, _| reply.clone()));
}

#[test]
fn a_valid_new_version_replaces_the_cache_and_304_keeps_it() {
    let (_pki, device, server) = seeded();
    let meta = device.meta().unwrap();
    assert_eq!(meta.version, Some(5));
    assert!(meta.etag.is_some());
    assert_eq!(meta.fetched_at.as_deref(), Some("2026-06-01T00:00:00Z"));

    // Unchanged: the cached ETag goes out, a 304 comes back, no body.
    let options = device.options(server.url(PATH));
    let outcome = device.sync(&options).unwrap();
    assert_eq!(outcome.change, SyncChange::NotModified);
    assert_eq!(outcome.body_bytes, 0);
    assert_eq!(
        server.last_request().unwrap().header("if-none-match"),
        meta.etag.as_deref()
    );
    assert_eq!(
        server.last_request().unwrap().header("accept-encoding"),
        Some("identity")
    );

    // A new version replaces the cache, and the rollback state records it.
    let v6 = Policy {
        mode: "workspace-write",
        ..Policy::version(6)
    }
    .bundle();
    server.set(static_file(v6.clone()));
    let outcome = device.sync(&options).unwrap();
    let SyncChange::Updated { from: Some(from) } = &outcome.change else {
        panic!("{:?}", outcome.change)
    };
    assert_eq!((from.version, outcome.bundle.version), (5, 6));
    assert_eq!(outcome.body_bytes, v6.len() as u64);
    assert_eq!(device.cache_bytes().unwrap(), v6);
    assert_eq!(device.recorded_version(), Some(6));
    let cached = device.cached();
    assert_eq!(cached.bundle().unwrap().header.version, 6);
    assert!(String::from_utf8_lossy(&cached.bundle().unwrap().payload).contains("workspace-write"));
    let layer = cached.layer(mandate::Schema::bundled()).unwrap().unwrap();
    assert_eq!(layer.source, mandate::SourceKind::Cloud);
    assert_eq!(
        layer.location.bundle(),
        Some(&mandate::source::BundleRef {
            id: "acme-baseline".into(),
            version: 6
        }),
        "{}",
        layer.location
    );
    assert!(
        layer.location.to_string().ends_with(" [acme-baseline v6]"),
        "{}",
        layer.location
    );
    assert!(
        cached.diagnostics().is_empty(),
        "{:?}",
        cached.diagnostics()
    );

    // A server without ETags that sends the same bytes again: unchanged.
    serve(&server, Reply::ok(v6));
    assert_eq!(device.sync(&options).unwrap().change, SyncChange::Unchanged);
}

#[test]
fn a_304_with_no_cache_is_an_error() {
    let pki = Pki::new("test CA");
    let device = Device::new(&pki, Some(ID));
    let server = Server::start(&pki.server(&["127.0.0.1"]), static_file(Vec::new()));
    serve(&server, Reply::status(304, Vec::new()));
    let error = device.sync(&device.options(server.url(PATH))).unwrap_err();
    assert!(
        matches!(error, SyncError::NotModifiedWithoutCache { .. }),
        "{error}"
    );
    assert_eq!(device.cache_bytes(), None);
    assert!(matches!(device.cached().state, CacheState::Absent));
    assert_eq!(
        device.meta().unwrap().last_error.unwrap().code,
        "not-modified-without-cache"
    );
}

#[test]
fn http_404_and_500() {
    let (_pki, device, server) = seeded();
    let options = device.options(server.url(PATH));
    serve(&server, Reply::status(404, b"no".to_vec()));
    let error = assert_fault(&device, &options, "http-status");
    assert!(matches!(error, SyncError::Status { status: 404, .. }));
    assert!(error.to_string().contains("check [cloud] url"), "{error}");
    serve(&server, Reply::status(500, b"oops".to_vec()));
    assert_fault(&device, &options, "http-status");
}

#[test]
fn http_503_with_retry_after_is_retried_then_given_up() {
    let (_pki, device, server) = seeded();
    let mut options = device.options(server.url(PATH));
    options.retries = 1;
    serve(
        &server,
        Reply::status(503, Vec::new()).with_header("Retry-After", "1"),
    );
    let hits = server.hits();
    let started = Instant::now();
    let error = assert_fault(&device, &options, "http-status");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After not honoured"
    );
    assert_eq!(server.hits() - hits, 2);
    let SyncError::GaveUp { attempts: 2, last } = &error else {
        panic!("{error}")
    };
    assert_eq!(last.retry_after(), Some(Duration::from_secs(1)));

    // A Retry-After of an hour is capped at max_backoff.
    options.max_backoff = Duration::from_millis(200);
    serve(
        &server,
        Reply::status(503, Vec::new()).with_header("Retry-After", "3600"),
    );
    let started = Instant::now();
    assert_fault(&device, &options, "http-status");
    assert!(started.elapsed() < Duration::from_secs(3));

    // A transient failure followed by success: the retry brings it in.
    let v6 = Policy::version(6).bundle();
    let first = server.hits();
    server.set(Arc::new(move |_: &Request, i| {
        if i == first {
            Reply::status(503, Vec::new()).with_header("Retry-After", "0")
        } else {
            Reply::ok(v6.clone())
        }
    }));
    let outcome = device.sync(&options).unwrap();
    assert_eq!((outcome.attempts, outcome.bundle.version), (2, 6));
    assert!(device.meta().unwrap().last_error.is_none());
}

#[test]
fn connection_refused() {
    let (_pki, device, _server) = seeded();
    let options = device.options(format!("https://{}{PATH}", closed_port()));
    assert_fault(&device, &options, "connection-refused");
}

#[test]
fn tls_with_an_unknown_ca_and_a_hostname_mismatch() {
    let (_pki, device, _server) = seeded();
    let stranger = Pki::new("someone else's CA");
    let other = Server::start(
        &stranger.server(&["127.0.0.1"]),
        static_file(Policy::version(6).bundle()),
    );
    let error = assert_fault(&device, &device.options(other.url(PATH)), "tls");
    assert!(
        matches!(
            &error,
            SyncError::Tls {
                problem: TlsProblem::UnknownIssuer,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(other.hits(), 0);

    let (pki, device, _server) = seeded();
    let wrong_name = Server::start(
        &pki.server(&["policy.example.com"]),
        static_file(Policy::version(6).bundle()),
    );
    let error = assert_fault(&device, &device.options(wrong_name.url(PATH)), "tls");
    assert!(
        matches!(
            &error,
            SyncError::Tls {
                problem: TlsProblem::NameMismatch,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(wrong_name.hits(), 0);
}

#[test]
fn a_server_that_accepts_and_never_answers_times_out() {
    let (_pki, device, server) = seeded();
    let silent = support::Silent::start();
    let started = Instant::now();
    let error = assert_fault(
        &device,
        &device.options(format!("https://{}{PATH}", silent.addr)),
        "timeout",
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(error, SyncError::Timeout { .. }), "{error}");

    // TLS is fine but the response never comes.
    serve(&server, Reply::Hang);
    let error = assert_fault(&device, &device.options(server.url(PATH)), "timeout");
    assert!(
        matches!(
            error,
            SyncError::Timeout {
                phase: Phase::Response,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_slow_drip_body_times_out() {
    let (_pki, device, server) = seeded();
    serve(
        &server,
        Reply::ok(Policy::version(6).bundle()).dripping(Duration::from_millis(20)),
    );
    let started = Instant::now();
    let error = assert_fault(&device, &device.options(server.url(PATH)), "timeout");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            error,
            SyncError::Timeout {
                phase: Phase::Body,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_body_over_the_cap_with_and_without_content_length() {
    let (_pki, device, server) = seeded();
    let mut options = device.options(server.url(PATH));
    options.max_bytes = 64 * 1024;
    // Declared: refused from the header, the body is never read (the server
    // would drip it for minutes).
    serve(
        &server,
        Reply::ok(vec![b'x'; 200 * 1024]).dripping(Duration::from_millis(5)),
    );
    let started = Instant::now();
    let error = assert_fault(&device, &options, "too-large");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            error,
            SyncError::TooLarge {
                declared: Some(204_800),
                ..
            }
        ),
        "{error}"
    );

    // Undeclared (close-delimited): reading stops past the cap.
    serve(&server, Reply::ok(vec![b'x'; 4 << 20]).with_length(None));
    let error = assert_fault(&device, &options, "too-large");
    assert!(
        matches!(error, SyncError::TooLarge { declared: None, .. }),
        "{error}"
    );
}

#[test]
fn a_gzip_bomb_is_refused_without_decompressing() {
    let (_pki, device, server) = seeded();
    // 128 MiB of zeros in about 850 kB: under the 1 MiB cap as sent, 128
    // times over it inflated. Nothing is ever inflated.
    let bomb = gzip_bomb(128 << 20);
    assert!(bomb.len() < 900_000, "{}", bomb.len());
    let options = device.options(server.url(PATH));
    serve(
        &server,
        Reply::ok(bomb).with_header("Content-Encoding", "gzip"),
    );
    let error = assert_fault(&device, &options, "content-encoding");
    assert!(error.to_string().contains("gzip"), "{error}");
    // Without the header, the compressed bytes are just not a bundle.
    serve(&server, Reply::ok(gzip_bomb(1 << 20)));
    assert_fault(&device, &options, "envelope-json");
}

#[test]
fn the_gzip_bomb_is_a_real_one() {
    for size in [1, 257, 258, 259, 1000, 70_000] {
        assert_eq!(
            support::crc32_zeros(size),
            support::crc32(&vec![0; size]),
            "{size}"
        );
    }
    let bomb = gzip_bomb(70_000);
    assert_eq!(&bomb[bomb.len() - 4..], &70_000u32.to_le_bytes());
}

#[test]
fn a_truncated_body() {
    let (_pki, device, server) = seeded();
    let bundle = Policy::version(6).bundle();
    let half = bundle[..bundle.len() / 2].to_vec();
    serve(
        &server,
        Reply::ok(half.clone()).with_length(Some(bundle.len() as u64)),
    );
    let error = assert_fault(&device, &device.options(server.url(PATH)), "truncated");
    assert!(
        matches!(error, SyncError::Truncated { expected: Some(e), received: r, .. } if e == bundle.len() as u64 && r == half.len() as u64),
        "{error}"
    );
    // Close-delimited and cut short: the bytes do not parse.
    serve(&server, Reply::ok(half).with_length(None));
    assert_fault(&device, &device.options(server.url(PATH)), "envelope-json");
}

#[test]
fn bundles_that_do_not_verify_are_refused() {
    let (_pki, device, server) = seeded();
    let options = device.options(server.url(PATH));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("threshold", Policy::version(6).signed_by(&key(99))),
        ("rollback-version", Policy::version(4).bundle()),
        (
            "rollback-same-version",
            Policy {
                mode: "workspace-write",
                ..Policy::version(5)
            }
            .bundle(),
        ),
        (
            "org-mismatch",
            Policy {
                org: "globex",
                ..Policy::version(6)
            }
            .bundle(),
        ),
        (
            "channel-mismatch",
            Policy {
                channel: "mdm",
                ..Policy::version(6)
            }
            .bundle(),
        ),
        (
            "bundle-id-mismatch",
            Policy {
                id: "other",
                ..Policy::version(6)
            }
            .bundle(),
        ),
        (
            "expired",
            Policy {
                issued_at: "2026-01-01T00:00:00Z",
                expires: "2026-05-31T00:00:00Z",
                ..Policy::version(6)
            }
            .bundle(),
        ),
        ("envelope-json", Policy::version(6).payload()),
    ];
    for (code, bytes) in cases {
        serve(&server, Reply::ok(bytes));
        let error = assert_fault(&device, &options, code);
        assert!(!error.to_string().is_empty());
    }
}

#[test]
fn without_a_named_id_the_cached_id_is_kept() {
    let pki = Pki::new("test CA");
    let device = Device::new(&pki, None);
    let server = Server::start(
        &pki.server(&["127.0.0.1"]),
        static_file(Policy::version(5).bundle()),
    );
    let options = device.options(server.url(PATH));
    device.sync(&options).unwrap();
    serve(
        &server,
        Reply::ok(
            Policy {
                id: "acme-legacy",
                ..Policy::version(9)
            }
            .bundle(),
        ),
    );
    assert_fault(&device, &options, "bundle-id-changed");
}

#[test]
fn a_proxy_from_the_environment_changes_nothing() {
    let (pki, device, server) = seeded();
    // An intercepting proxy whose certificate the device trusts (a
    // corporate TLS inspection box): it serves an older bundle, then an
    // unsigned one. The signature, not TLS, decides.
    let proxy = Server::proxy(
        &pki.server(&["127.0.0.1"]),
        static_file(Policy::version(4).bundle()),
    );
    let mut env = Environment::fixed(NOW);
    env.https_proxy = Some(format!("http://{}", proxy.addr));
    let mut options = device.options(server.url(PATH));
    options.proxy = env.https_proxy.clone();
    let hits = server.hits();
    assert_fault(&device, &options, "rollback-version");
    serve(&proxy, Reply::ok(Policy::version(7).payload()));
    assert_fault(&device, &options, "envelope-json");
    assert_eq!(proxy.connects.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(server.hits(), hits, "the request went around the proxy");

    // The options a device builds take the proxy from the snapshot only.
    let from_root = SyncOptions::from_trust_root(&device.root, &device.tree, &env).unwrap();
    assert_eq!(from_root.proxy, env.https_proxy);
    assert_eq!(
        from_root.url,
        "https://127.0.0.1/acme/cloud/acme-baseline.bundle"
    );
}

#[test]
fn a_crash_between_download_and_rename_leaves_the_old_cache_usable() {
    let (_pki, device, server) = seeded();
    // What write_atomic leaves behind if the machine dies before the rename.
    let temp = device.cache_dir().join(".bundle.0011223344556677.tmp");
    let v6 = Policy::version(6).bundle();
    std::fs::write(&temp, &v6[..v6.len() / 3]).unwrap();
    let cached = device.cached();
    assert_eq!(cached.standing(), Standing::InForce);
    assert_eq!(cached.bundle().unwrap().header.version, 5);
    // And the next sync goes through.
    server.set(static_file(v6.clone()));
    assert_eq!(
        device
            .sync(&device.options(server.url(PATH)))
            .unwrap()
            .bundle
            .version,
        6
    );
    assert_eq!(device.cache_bytes().unwrap(), v6);
}

#[test]
fn a_cache_edited_on_disk_is_refused_then_replaced() {
    let (_pki, device, server) = seeded();
    let path = device.cache_dir().join("bundle");
    let edited = String::from_utf8(device.cache_bytes().unwrap())
        .unwrap()
        .replacen("\"payload\": \"", "\"payload\": \"AAAA", 1);
    std::fs::write(&path, edited).unwrap();
    let cached = device.cached();
    assert_eq!(cached.standing(), Standing::Lockdown);
    let report = cached.source_report();
    assert_eq!(report.status, SourceStatus::Rejected);
    assert!(
        cached
            .diagnostics()
            .iter()
            .any(|d| d.code == "cloud-cache-rejected"),
        "{:?}",
        cached.diagnostics()
    );
    // No ETag is sent for a refused cache: the server sends the bundle again.
    let outcome = device.sync(&device.options(server.url(PATH))).unwrap();
    assert_eq!(server.last_request().unwrap().header("if-none-match"), None);
    assert!(outcome.replaced_refused.is_some());
    assert_eq!(device.cached().standing(), Standing::InForce);
}

#[test]
fn reading_the_cache_never_touches_the_network() {
    let (_pki, device, server) = seeded();
    let hits = server.hits();
    serve(&server, Reply::Hang);
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(device.cached().standing(), Standing::InForce);
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(server.hits(), hits);
}

#[test]
fn expiry_is_reported_with_grace_left_then_lockdown() {
    let (_pki, device, _server) = seeded();
    let state = cloud::load_state(&device.tree, PLATFORM).unwrap();
    // The trust root's default grace is seven days; the bundle expires 2026-12-01.
    let in_grace = time::macros::datetime!(2026-12-03 00:00 UTC);
    let cached = cloud::read_cached(&device.tree, PLATFORM, Some(&device.root), &state, in_grace);
    assert_eq!(cached.standing(), Standing::InForce);
    let report = cached.source_report();
    assert_eq!(report.status, SourceStatus::Expired);
    assert_eq!(report.details["grace_left"], "5d");
    let past = time::macros::datetime!(2026-12-09 00:00 UTC);
    let cached = cloud::read_cached(&device.tree, PLATFORM, Some(&device.root), &state, past);
    assert_eq!(cached.standing(), Standing::Lockdown);
    assert!(cached.layer(mandate::Schema::bundled()).is_none());
    let fresh = device.cached().source_report();
    assert_eq!(fresh.status, SourceStatus::Verified);
    assert_eq!(fresh.details["expires_in"], "183d");
    assert_eq!(fresh.details["fetched_at"], "2026-06-01T00:00:00Z");
}

#[test]
fn two_syncs_never_interleave() {
    let (_pki, device, server) = seeded();
    serve(&server, Reply::Hang);
    let device = Arc::new(device);
    let options = device.options(server.url(PATH));
    let (d, o) = (device.clone(), options.clone());
    let first = std::thread::spawn(move || d.sync(&o));
    std::thread::sleep(Duration::from_millis(300));
    let second = device.sync(&options).unwrap_err();
    assert_eq!(second.code(), "busy", "{second}");
    assert_eq!(first.join().unwrap().unwrap_err().code(), "timeout");
}

#[test]
fn a_fetcher_reuses_its_connection() {
    let (_pki, device, server) = seeded();
    let fetcher = Fetcher::new(&device.options(server.url(PATH))).unwrap();
    let Fetched::Body {
        etag: Some(etag), ..
    } = fetcher.fetch_once(None, NOW).unwrap()
    else {
        panic!("no body or no etag")
    };
    let wire = server.wire_in.load(std::sync::atomic::Ordering::SeqCst);
    for _ in 0..5 {
        assert_eq!(
            fetcher.fetch_once(Some(&etag), NOW).unwrap(),
            Fetched::NotModified
        );
    }
    // No new TLS handshake: only the small requests went out.
    let per_poll = (server.wire_in.load(std::sync::atomic::Ordering::SeqCst) - wire) / 5;
    assert!(per_poll < 600, "{per_poll} bytes per poll");
}

#[test]
fn the_cache_goes_into_a_stack_for_resolution() {
    let (_pki, device, _server) = seeded();
    let schema = mandate::Schema::bundled();
    let mut stack = mandate::resolve::Stack::default();
    device.cached().add_to(schema, &mut stack);
    assert!(!stack.degraded && !stack.lockdown);
    assert_eq!(stack.sources.len(), 1);
    assert_eq!(stack.sources[0].status, SourceStatus::Verified);
    let effective = mandate::resolve::resolve_stack(schema, stack);
    assert_eq!(effective.get_str("sandbox.mode"), Some("read-only"));
    assert_eq!(effective.keys["sandbox.mode"].source, "cloud");

    // An edited cache: refused, and everything is held at its lockdown value.
    let path = device.cache_dir().join("bundle");
    let edited = String::from_utf8(device.cache_bytes().unwrap())
        .unwrap()
        .replacen("\"payload\": \"", "\"payload\": \"AAAA", 1);
    std::fs::write(&path, edited).unwrap();
    let mut stack = mandate::resolve::Stack::default();
    device.cached().add_to(schema, &mut stack);
    assert!(stack.degraded && stack.lockdown);
    assert!(stack.layers.is_empty());
    assert_eq!(stack.sources[0].status, SourceStatus::Rejected);
}

/// Resolution reads the cache with `read_cached_for`: the layer is built
/// from the payload as verification parsed it, and is the layer parsing the
/// verified payload again gives.
#[test]
fn resolution_builds_the_cached_layer_from_verifications_parse() {
    let (_pki, device, _server) = seeded();
    let schema = mandate::Schema::bundled();
    let state = cloud::load_state(&device.tree, PLATFORM).unwrap();
    let read = || {
        cloud::read_cached_for(
            schema,
            &device.tree,
            PLATFORM,
            Some(&device.root),
            &state,
            NOW,
        )
    };
    let reparsed = device.cached().layer(schema).unwrap().unwrap();
    let mut stack = mandate::resolve::Stack::default();
    read().add_to(schema, &mut stack);
    assert_eq!(stack.layers.len(), 1);
    assert_eq!(format!("{:?}", stack.layers[0]), format!("{reparsed:?}"));
    // `layer` of a cache read for resolution gives the same layer too.
    assert_eq!(
        format!("{:?}", read().layer(schema).unwrap().unwrap()),
        format!("{reparsed:?}")
    );
}
