//! `mandate publish` served by a real nginx on loopback, `mandate sync`
//! against it: a first fetch, a 304 from nginx's own ETag, the server going
//! away, and an older version refused as a rollback.
//!
//! Needs nginx (Debian: `nginx-light`; `.ci/run` installs it). Without it
//! the test says so and passes.

#![allow(clippy::unwrap_used, clippy::print_stderr, missing_docs)]

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mandate::source::ManagedSource;
use mandate::trust::envelope::{Envelope, POLICY_PAYLOAD_TYPE};
use mandate::trust::keys::SecretKey;
use mandate::trust::root::{CloudConfig, TrustRoot, TrustRootBuilder};
use serde_json::Value;
use time::OffsetDateTime;

const ID: &str = "acme-baseline";

// Tests look for the nginx binary on PATH; the library never reads the environment.
#[allow(clippy::disallowed_methods)]
fn nginx_binary() -> Option<PathBuf> {
    let fixed = PathBuf::from("/usr/sbin/nginx");
    if fixed.is_file() {
        return Some(fixed);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("nginx"))
        .find(|p| p.is_file())
}

fn key(i: u8) -> SecretKey {
    SecretKey::from_seed(&[i; 32])
}

/// A bundle signed by policy key 11, issued a day ago, expiring in 180 days.
fn bundle(version: u64, mode: &str) -> Vec<u8> {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let fmt = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let payload = format!(
        "[policy]\norg = \"acme\"\nchannel = \"cloud\"\nid = \"{ID}\"\nversion = {version}\nissued_at = {}\nexpires = {}\n\n[settings]\n\"sandbox.mode\" = \"{mode}\"\n",
        fmt(now - time::Duration::days(1)),
        fmt(now + time::Duration::days(180)),
    );
    Envelope::sign(POLICY_PAYLOAD_TYPE, payload.as_bytes(), &[&key(11)]).to_json()
}

fn trust_root(url: &str) -> Vec<u8> {
    let body = TrustRootBuilder::new(
        "acme",
        OffsetDateTime::now_utc() + time::Duration::days(365),
    )
    .root_keys(vec![key(1).public().clone()], 1)
    .policy_keys(vec![key(11).public().clone()], 1)
    .signed_sources(vec![ManagedSource::Cloud])
    .cloud(Some(CloudConfig {
        url: url.to_owned(),
        ca: None,
        bundle: Some(ID.to_owned()),
    }))
    .body()
    .unwrap();
    TrustRoot::sign(&body, &[&key(1)]).unwrap()
}

/// A throwaway CA and a server certificate for 127.0.0.1, as PEM files.
fn pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "mandate test CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let mut params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "127.0.0.1");
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server = params.signed_by(&server_key, &ca, &ca_key).unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, server.pem()).unwrap();
    std::fs::write(&paths.2, server_key.serialize_pem()).unwrap();
    (paths.0, paths.1, paths.2)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx in the foreground, killed on drop.
struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    fn start(binary: &Path, dir: &Path, site: &Path, port: u16, cert: &Path, key: &Path) -> Nginx {
        for sub in [
            "tmp/body",
            "tmp/proxy",
            "tmp/fastcgi",
            "tmp/uwsgi",
            "tmp/scgi",
        ] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let d = dir.display();
        let conf = format!(
            r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    types {{
        application/vnd.mandate.bundle+json bundle;
        application/json json;
    }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        root {site};
        etag on;
        gzip off;
        location ~ \.bundle$ {{
            add_header Cache-Control "no-cache";
        }}
    }}
}}
"#,
            cert = cert.display(),
            key = key.display(),
            site = site.display(),
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let nginx = Nginx {
            child,
            dir: dir.to_path_buf(),
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mandate(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mandate"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .output()
        .unwrap()
}

/// `mandate` for the commands that work on files (no `--root`).
fn mandate_files(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mandate"))
        .args(args)
        .output()
        .unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `mandate sources --json`'s cloud entry.
fn cloud_source(root: &Path) -> Option<Value> {
    let out = mandate(root, &["sources", "--json"]);
    json(&out)["sources"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == "cloud")
        .cloned()
}

#[test]
fn publish_serve_with_nginx_and_sync() {
    let Some(binary) = nginx_binary() else {
        common::skip(
            "nginx not found at /usr/sbin/nginx or on PATH (Debian: apt-get install nginx-light)",
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (root, site, conf_dir) = (
        tmp.path().join("machine"),
        tmp.path().join("site"),
        tmp.path().join("nginx"),
    );
    for dir in [&root, &site, &conf_dir] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let (ca, cert, cert_key) = pki(tmp.path());
    let port = free_port();
    let url = format!("https://127.0.0.1:{port}/acme/cloud/{ID}.bundle");
    let trust = root.join("etc/mandate/trust.toml");
    std::fs::create_dir_all(trust.parent().unwrap()).unwrap();
    std::fs::write(&trust, trust_root(&url)).unwrap();
    let (v5, v4) = (tmp.path().join("v5.bundle"), tmp.path().join("v4.bundle"));
    std::fs::write(&v5, bundle(5, "read-only")).unwrap();
    std::fs::write(&v4, bundle(4, "workspace-write")).unwrap();

    // Publishing works on files, not on a machine: no --root.
    let out = Command::new(env!("CARGO_BIN_EXE_mandate"))
        .args([
            "publish",
            v5.to_str().unwrap(),
            "--out",
            site.to_str().unwrap(),
            "--trust",
            trust.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let published = site.join(format!("acme/cloud/{ID}.bundle"));
    assert_eq!(
        std::fs::read(&published).unwrap(),
        std::fs::read(&v5).unwrap()
    );
    assert!(site.join("index.json").is_file());

    let nginx = Nginx::start(&binary, &conf_dir, &site, port, &cert, &cert_key);
    let sync = |extra: &[&str]| {
        let mut args = vec![
            "sync",
            "--json",
            "--url",
            url.as_str(),
            "--ca-file",
            ca.to_str().unwrap(),
            "--connect-timeout",
            "3",
            "--timeout",
            "5",
            "--retries",
            "0",
        ];
        args.extend_from_slice(extra);
        mandate(&root, &args)
    };

    // First sync: fetched, verified, cached.
    let out = sync(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["status"], "installed", "{report}");
    assert_eq!(report["bundle"]["version"], 5);
    let cache = root.join("var/lib/mandate/cloud/bundle");
    assert_eq!(std::fs::read(&cache).unwrap(), std::fs::read(&v5).unwrap());
    let meta: Value = serde_json::from_slice(
        &std::fs::read(root.join("var/lib/mandate/cloud/meta.json")).unwrap(),
    )
    .unwrap();
    assert!(
        meta["etag"].as_str().is_some_and(|e| e.starts_with('"')),
        "{meta}"
    );
    let source = cloud_source(&root).expect("`mandate sources` lists the cloud source");
    assert_eq!(source["status"], "verified", "{source}");
    assert_eq!(source["version"], 5, "{source}");

    // Second sync: nginx's own ETag, 304, no body.
    let out = sync(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["status"], "not-modified", "{report}");
    assert_eq!(report["body_bytes"], 0);
    let log = nginx.access_log();
    assert!(
        log.lines().last().is_some_and(|l| l.contains("\" 304 ")),
        "{log}"
    );

    // A sync that succeeds on a machine that stays degraded says so (exit 3).
    let broken = root.join("etc/mandate/policy.d/20-broken.toml");
    std::fs::create_dir_all(broken.parent().unwrap()).unwrap();
    std::fs::write(&broken, "[settings]\nsandbox.mode = 3\n").unwrap();
    let out = sync(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(json(&out)["machine_status"], "degraded");
    let mut text_args = vec!["sync", "--url", url.as_str()];
    let ca_arg = ca.to_str().unwrap();
    text_args.extend_from_slice(&["--ca-file", ca_arg, "--retries", "0"]);
    let out = mandate(&root, &text_args);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("machine: degraded"), "{text}");
    std::fs::remove_file(&broken).unwrap();

    // The server goes away: non-zero, the last known good copy stays.
    nginx.stop();
    let out = sync(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("connection refused"), "{err}");
    assert!(
        err.contains("the last known good copy stays in force: acme-baseline version 5"),
        "{err}"
    );
    assert_eq!(json(&out)["error"]["code"], "connection-refused");
    assert_eq!(std::fs::read(&cache).unwrap(), std::fs::read(&v5).unwrap());
    if let Some(source) = cloud_source(&root) {
        assert_eq!(source["status"], "verified", "{source}");
        assert_eq!(source["version"], 5, "{source}");
        assert_eq!(
            source["details"]["last_sync_error"]["code"], "connection-refused",
            "{source}"
        );
    }

    // An older version: `publish` refuses it, unless forced; devices refuse it.
    let out = mandate_files(&[
        "publish",
        v4.to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rollback protection"),
        "{}",
        stderr(&out)
    );
    let out = mandate_files(&[
        "publish",
        v4.to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
        "--allow-older",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let nginx = Nginx::start(&binary, &conf_dir, &site, port, &cert, &cert_key);
    let out = sync(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(json(&out)["error"]["code"], "rollback-version");
    assert!(
        stderr(&out).contains("older than version 5"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&cache).unwrap(), std::fs::read(&v5).unwrap());
    nginx.stop();
}
