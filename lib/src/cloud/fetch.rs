//! `mandate sync`: fetch the cloud bundle over HTTPS, verify it fully, and
//! only then replace the cache (crate feature `sync`).
//!
//! One sync, in order:
//!
//! 1. take the cache lock (`cloud/lock`; a second sync at the same time is
//!    refused, never interleaved);
//! 2. read and verify the cached bundle ([`super::read_cached`]); its ETag is
//!    sent as `If-None-Match` only when it verifies and `meta.json`
//!    describes exactly those bytes;
//! 3. `GET` the URL of the verified trust root's `[cloud]` section over
//!    HTTPS (rustls; the private CA of `ca_file` only, or the system roots),
//!    with `Accept-Encoding: identity`, a connect timeout and a total
//!    timeout per attempt, through the proxy of the environment snapshot if
//!    any — reqwest's own reading of proxy variables is switched off;
//! 4. retry connection failures, timeouts, truncated bodies, 408, 429 and
//!    5xx up to `retries` times with jittered exponential backoff, waiting
//!    at least the server's `Retry-After` (both capped at `max_backoff`);
//! 5. `304 Not Modified`: the cached copy stays (a 304 with no usable cache
//!    is an error); `200`: refuse any `Content-Encoding` but identity
//!    (nothing is ever decompressed, so a compression bomb cannot happen), a
//!    `Content-Length` over `max_bytes` without reading the body, and a body
//!    that goes past `max_bytes + 1` bytes;
//! 6. verify the bytes fully: signatures, org, channel `cloud`, the id the
//!    root names (or, if it names none, the id already cached), rollback
//!    state, expiry (an expired bundle is refused even within the offline
//!    grace: grace is for devices that cannot reach the server);
//! 7. write `cloud/bundle`, then `cloud/meta.json` (each atomically), then
//!    record the bundle in the rollback state and save it.
//!
//! Any failure leaves the cache as it was: the last known good copy stays in
//! force, and `meta.json` records the failure for `mandate sources`.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Duration as StdDuration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::Client;
use reqwest::header::{self, HeaderMap};
use time::OffsetDateTime;

use super::{
    CACHE_BUNDLE, CACHE_DIR, CACHE_LOCK, CACHE_META, CacheMeta, CacheState, LastError, ensure_dir,
    read_cached, rfc3339, state_path,
};
use crate::atomic::write_atomic;
use crate::env::Environment;
use crate::fsafe::TrustedTree;
use crate::paths::Platform;
use crate::source::ManagedSource;
use crate::trust::root::TrustRoot;
use crate::trust::state::{RollbackState, StateError};
use crate::trust::{BundleError, Expiry, Sha256, VerifiedBundle, verify_bundle};

/// Default time allowed to establish a connection (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: StdDuration = StdDuration::from_secs(10);
/// Default time allowed for one attempt, from connecting to the last body byte.
pub const DEFAULT_TIMEOUT: StdDuration = StdDuration::from_secs(60);
/// Default largest body accepted: the largest managed file a device reads
/// ([`MAX_MANAGED_SIZE`](crate::fsafe::MAX_MANAGED_SIZE)).
pub const DEFAULT_MAX_BYTES: u64 = crate::fsafe::MAX_MANAGED_SIZE;
/// Default number of retries after the first attempt.
pub const DEFAULT_RETRIES: u32 = 4;
/// Default first backoff; it doubles with each retry.
pub const DEFAULT_BACKOFF: StdDuration = StdDuration::from_secs(1);
/// Default cap on one backoff and on a server's `Retry-After`.
pub const DEFAULT_MAX_BACKOFF: StdDuration = StdDuration::from_secs(60);

const MAX_CA_FILE: u64 = 1 << 20;
const MAX_ETAG: usize = 256;
const ACCEPT: &str = "application/vnd.mandate.bundle+json, application/json;q=0.9, */*;q=0.1";
const USER_AGENT: &str = concat!("mandate/", env!("CARGO_PKG_VERSION"));

/// How to fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncOptions {
    /// The bundle URL (`https://` only). Take it from the verified trust
    /// root ([`SyncOptions::from_trust_root`]), never from an environment
    /// variable or a user's file.
    pub url: String,
    /// A PEM file of CA certificates: when set, only these are trusted for
    /// TLS (not the system roots).
    pub ca_file: Option<PathBuf>,
    /// Time allowed to connect (TCP and TLS handshake).
    pub connect_timeout: StdDuration,
    /// Time allowed for one attempt, from connecting to the last body byte.
    pub timeout: StdDuration,
    /// The largest body accepted, in bytes.
    pub max_bytes: u64,
    /// Retries after the first attempt, for transient failures only.
    pub retries: u32,
    /// The first backoff; doubled for each further retry, jittered.
    pub backoff: StdDuration,
    /// Cap on one backoff and on the server's `Retry-After`.
    pub max_backoff: StdDuration,
    /// An HTTPS proxy (`http://host:port`), from the environment snapshot.
    /// It moves bytes only: what it serves is verified like anything else.
    pub proxy: Option<String>,
    /// Told of each transient failure before the wait for the next attempt
    /// (a progress report; the library prints nothing).
    pub on_retry: Option<OnRetry>,
}

/// A transient failure about to be retried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retry {
    /// The attempt that failed (1-based).
    pub attempt: u32,
    /// How many attempts may be made in all.
    pub attempts: u32,
    /// Why it failed.
    pub error: String,
    /// The wait before the next attempt.
    pub wait: StdDuration,
}

/// A function told of each [`Retry`]. Observers never make options differ.
#[derive(Clone, Copy)]
pub struct OnRetry(pub fn(&Retry));

impl std::fmt::Debug for OnRetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnRetry")
    }
}

impl PartialEq for OnRetry {
    fn eq(&self, _: &OnRetry) -> bool {
        true
    }
}

impl Eq for OnRetry {}

impl SyncOptions {
    /// Options for `url` with every default (10 s to connect, 60 s per
    /// attempt, 1 MiB, 4 retries from 1 s up to 60 s, no proxy, system roots).
    pub fn new(url: impl Into<String>) -> SyncOptions {
        SyncOptions {
            url: url.into(),
            ca_file: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            max_bytes: DEFAULT_MAX_BYTES,
            retries: DEFAULT_RETRIES,
            backoff: DEFAULT_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            proxy: None,
            on_retry: None,
        }
    }

    /// The options a device uses: the URL and CA of the verified trust
    /// root's `[cloud]` section (the CA path is read under `tree`), the
    /// proxy of the environment snapshot, defaults otherwise.
    pub fn from_trust_root(
        root: &TrustRoot,
        tree: &TrustedTree,
        env: &Environment,
    ) -> Result<SyncOptions, SyncError> {
        let cloud = root.cloud().ok_or(SyncError::NotConfigured {
            root_version: root.version(),
        })?;
        let mut options = SyncOptions::new(cloud.url.clone());
        options.ca_file = cloud.ca.as_deref().map(|ca| tree.real(ca));
        options.proxy = env.https_proxy.clone().filter(|p| !p.is_empty());
        Ok(options)
    }
}

/// Which TLS check failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsProblem {
    /// The server's certificate is not issued by a trusted CA.
    UnknownIssuer,
    /// The certificate is not valid for the URL's host name.
    NameMismatch,
    /// The certificate has expired or is not yet valid.
    Expired,
    /// Anything else (alerts, protocol errors), as rustls reports it.
    Other(String),
}

impl std::fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsProblem::UnknownIssuer => {
                f.write_str("the server's certificate is not issued by a trusted CA")
            }
            TlsProblem::NameMismatch => {
                f.write_str("the server's certificate is not valid for this host name")
            }
            TlsProblem::Expired => {
                f.write_str("the server's certificate has expired or is not yet valid")
            }
            TlsProblem::Other(detail) => write!(f, "TLS failed: {detail}"),
        }
    }
}

/// Which phase of an attempt ran out of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Connecting (TCP and TLS).
    Connect,
    /// Waiting for the response headers.
    Response,
    /// Reading the body.
    Body,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connecting",
            Phase::Response => "waiting for the response",
            Phase::Body => "reading the body",
        })
    }
}

/// Why a sync did not refresh the cache. In every case the cache is left as
/// it was, and its last known good copy stays in force.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The trust root has no `[cloud]` section.
    #[error(
        "trust root version {root_version} names no cloud URL; add a [cloud] section with `url` to the trust root (`mandate trust rotate`) to enable `mandate sync`"
    )]
    NotConfigured {
        /// The trust root's version.
        root_version: u64,
    },
    /// The URL is not a valid `https://` URL.
    #[error("`{url}` is not an https:// URL ({problem}); fix [cloud] url in the trust root")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong.
        problem: String,
    },
    /// The CA file could not be used.
    #[error("{path}: {problem}; point [cloud] ca (or --ca-file) at a PEM file of CA certificates")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The proxy setting is unusable.
    #[error("https_proxy `{proxy}` is not usable: {problem}; fix or unset HTTPS_PROXY")]
    Proxy {
        /// The proxy, without credentials.
        proxy: String,
        /// What is wrong.
        problem: String,
    },
    /// The HTTP client could not be built.
    #[error("could not set up HTTPS: {detail}")]
    Client {
        /// What failed.
        detail: String,
    },
    /// Nothing listens at the address.
    #[error("{url}: connection refused; is the server up?")]
    ConnectionRefused {
        /// The URL.
        url: String,
    },
    /// Connecting failed otherwise (DNS, unreachable network, reset).
    #[error("{url}: could not connect: {detail}")]
    Connect {
        /// The URL.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The TLS handshake failed.
    #[error(
        "{url}: {problem}; the server must present a certificate for its host name from the CA in [cloud] ca (or --ca-file), or from the system roots"
    )]
    Tls {
        /// The URL.
        url: String,
        /// Which check failed.
        problem: TlsProblem,
    },
    /// An attempt ran out of time.
    #[error("{url}: timed out {phase} after {}s; the server is too slow or unreachable", .after.as_secs_f32())]
    Timeout {
        /// The URL.
        url: String,
        /// Which phase.
        phase: Phase,
        /// The limit that ran out.
        after: StdDuration,
    },
    /// The request failed after connecting (connection closed, protocol error).
    #[error("{url}: the request failed: {detail}")]
    Request {
        /// The URL.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The server answered with an error status.
    #[error("{url}: the server answered {status}{}; {}", retry_note(.retry_after), status_hint(*.status))]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// Its `Retry-After`, when it sent one.
        retry_after: Option<StdDuration>,
    },
    /// `304 Not Modified`, but there is no usable cached copy to keep.
    #[error(
        "{url}: the server answered 304 Not Modified but no verified cached bundle exists (nothing was sent to compare with); the server or a cache in between is misbehaving"
    )]
    NotModifiedWithoutCache {
        /// The URL.
        url: String,
    },
    /// A `Content-Encoding` or `Transfer-Encoding` other than identity.
    #[error(
        "{url}: the server sent the bundle with {header}: {encoding}; bundles must be served as they are (turn off gzip/brotli for *.bundle): nothing is decompressed"
    )]
    Encoding {
        /// The URL.
        url: String,
        /// `Content-Encoding` or `Transfer-Encoding`.
        header: &'static str,
        /// Its value.
        encoding: String,
    },
    /// The body is larger than the cap.
    #[error("{url}: the body is {} than the {cap}-byte limit; bundles are small: check the URL", match .declared { Some(n) => format!("{n} bytes, more"), None => "larger".to_owned() })]
    TooLarge {
        /// The URL.
        url: String,
        /// The `Content-Length`, when the server declared one (the body was then not read).
        declared: Option<u64>,
        /// The cap.
        cap: u64,
    },
    /// The body ended early.
    #[error("{url}: the body ended after {received} bytes{}; the connection broke or the server is misbehaving", match .expected { Some(n) => format!(" of {n}"), None => String::new() })]
    Truncated {
        /// The URL.
        url: String,
        /// The `Content-Length`, when declared.
        expected: Option<u64>,
        /// How many bytes arrived.
        received: u64,
    },
    /// The bundle was refused by verification.
    #[error("{url}: the bundle was refused: {error}")]
    Refused {
        /// The URL.
        url: String,
        /// Why; `error.code()` is the stable reason code.
        error: BundleError,
    },
    /// The bundle has already expired.
    #[error("{url}: bundle {id} version {version} expired at {}; publish a freshly signed bundle", rfc3339(*.expires))]
    Expired {
        /// The URL.
        url: String,
        /// The id.
        id: String,
        /// The version.
        version: u64,
        /// When it expired.
        expires: OffsetDateTime,
    },
    /// The bundle's id differs from the cached one and the trust root names none.
    #[error(
        "{url}: the server has bundle `{found}` but this device follows `{cached}`; to switch, name the new id in the trust root's [cloud] bundle"
    )]
    IdChanged {
        /// The URL.
        url: String,
        /// The id cached.
        cached: String,
        /// The id served.
        found: String,
    },
    /// Every attempt failed with a transient error.
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp {
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's error.
        last: Box<SyncError>,
    },
    /// Another sync holds the cache lock.
    #[error("{path}: another `mandate sync` is running; try again when it has finished")]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// The cache could not be written.
    #[error("{path}: {source}; the cache was left as it was")]
    Cache {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The rollback state could not be saved.
    #[error(transparent)]
    State(StateError),
}

fn retry_note(retry_after: &Option<StdDuration>) -> String {
    retry_after.map_or_else(String::new, |d| format!(" (Retry-After: {}s)", d.as_secs()))
}

fn status_hint(status: u16) -> &'static str {
    match status {
        404 | 410 => {
            "check [cloud] url in the trust root and that the `mandate publish` output is deployed there"
        }
        401 | 403 => {
            "the server refuses access: bundles are public static files, allow anonymous GET for them"
        }
        429 => "the server is rate limiting this device",
        500..=599 => "the server is failing; it will be tried again at the next sync",
        _ => "the server does not serve the bundle as a static file",
    }
}

impl SyncError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SyncError::NotConfigured { .. } => "not-configured",
            SyncError::Url { .. } => "bad-url",
            SyncError::CaFile { .. } => "ca-file",
            SyncError::Proxy { .. } => "proxy",
            SyncError::Client { .. } => "client",
            SyncError::ConnectionRefused { .. } => "connection-refused",
            SyncError::Connect { .. } => "connect",
            SyncError::Tls { .. } => "tls",
            SyncError::Timeout { .. } => "timeout",
            SyncError::Request { .. } => "request",
            SyncError::Status { .. } => "http-status",
            SyncError::NotModifiedWithoutCache { .. } => "not-modified-without-cache",
            SyncError::Encoding { .. } => "content-encoding",
            SyncError::TooLarge { .. } => "too-large",
            SyncError::Truncated { .. } => "truncated",
            SyncError::Refused { error, .. } => error.code(),
            SyncError::Expired { .. } => "expired",
            SyncError::IdChanged { .. } => "bundle-id-changed",
            SyncError::GaveUp { last, .. } => last.code(),
            SyncError::Busy { .. } => "busy",
            SyncError::Cache { .. } => "cache-write",
            SyncError::State(_) => "rollback-state",
        }
    }

    /// Whether another attempt may succeed (network trouble, 408, 429, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::ConnectionRefused { .. }
            | SyncError::Connect { .. }
            | SyncError::Timeout { .. }
            | SyncError::Request { .. }
            | SyncError::Truncated { .. } => true,
            SyncError::Status { status, .. } => matches!(status, 408 | 425 | 429 | 500..=599),
            _ => false,
        }
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<StdDuration> {
        match self {
            SyncError::Status { retry_after, .. } => *retry_after,
            SyncError::GaveUp { last, .. } => last.retry_after(),
            _ => None,
        }
    }

    /// The error of the last attempt (itself unless it is [`SyncError::GaveUp`]).
    pub fn last(&self) -> &SyncError {
        match self {
            SyncError::GaveUp { last, .. } => last,
            other => other,
        }
    }
}

/// What one conditional `GET` brought.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// `304 Not Modified`.
    NotModified,
    /// `200` with a body within the cap.
    Body {
        /// The body, unverified.
        bytes: Vec<u8>,
        /// The server's `ETag`, when usable.
        etag: Option<String>,
    },
}

/// An HTTPS client for one bundle URL, with the caps and timeouts of its
/// options. Build it once and poll with it: the connection is reused.
#[derive(Debug)]
pub struct Fetcher {
    client: Client,
    url: reqwest::Url,
    options: SyncOptions,
}

impl Fetcher {
    /// Builds the client: rustls, the CA file's certificates only (or the
    /// system roots), no proxy but the one in `options`, https only, at most
    /// five redirects, no compression.
    pub fn new(options: &SyncOptions) -> Result<Fetcher, SyncError> {
        let url_error = |problem: String| SyncError::Url {
            url: options.url.clone(),
            problem,
        };
        let url = reqwest::Url::parse(&options.url).map_err(|e| url_error(e.to_string()))?;
        if url.scheme() != "https" {
            return Err(url_error(format!("the scheme is {}", url.scheme())));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(url_error("there is no host".into()));
        }
        let mut builder = Client::builder()
            .use_rustls_tls()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::limited(5))
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .user_agent(USER_AGENT)
            .no_proxy();
        if let Some(path) = &options.ca_file {
            let ca_error = |problem: String| SyncError::CaFile {
                path: path.clone(),
                problem,
            };
            let mut pem = Vec::new();
            std::fs::File::open(path)
                .and_then(|f| f.take(MAX_CA_FILE + 1).read_to_end(&mut pem))
                .map_err(|e| ca_error(e.to_string()))?;
            if pem.len() as u64 > MAX_CA_FILE {
                return Err(ca_error(format!("larger than {MAX_CA_FILE} bytes")));
            }
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca_error(e.to_string()))?;
            if certs.is_empty() {
                return Err(ca_error("no PEM certificate in it".into()));
            }
            builder = builder.tls_built_in_root_certs(false);
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some(proxy) = &options.proxy {
            let shown = redact(proxy);
            let proxy = reqwest::Proxy::https(proxy.as_str()).map_err(|e| SyncError::Proxy {
                proxy: shown,
                problem: e.to_string(),
            })?;
            builder = builder.proxy(proxy);
        }
        let client = builder
            .build()
            .map_err(|e| SyncError::Client { detail: chain(&e) })?;
        Ok(Fetcher {
            client,
            url,
            options: options.clone(),
        })
    }

    /// The URL fetched.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// One conditional `GET`, without retries. `now` reads a `Retry-After`
    /// given as a date.
    pub fn fetch_once(
        &self,
        etag: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Fetched, SyncError> {
        let url = self.options.url.clone();
        let started = Instant::now();
        let mut request = self
            .client
            .get(self.url.clone())
            .header(header::ACCEPT, ACCEPT)
            .header(header::ACCEPT_ENCODING, "identity")
            .timeout(self.options.timeout);
        if let Some(value) = etag.and_then(|e| header::HeaderValue::from_str(e).ok()) {
            request = request.header(header::IF_NONE_MATCH, value);
        }
        let mut response = request
            .send()
            .map_err(|e| classify(&url, &e, self.options.timeout))?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if status != StatusCode::OK {
            return Err(SyncError::Status {
                url,
                status: status.as_u16(),
                retry_after: retry_after(response.headers(), now),
            });
        }
        check_encodings(&url, response.headers())?;
        let declared = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let cap = self.options.max_bytes;
        if let Some(declared) = declared
            && declared > cap
        {
            return Err(SyncError::TooLarge {
                url,
                declared: Some(declared),
                cap,
            });
        }
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                !v.is_empty() && v.len() <= MAX_ETAG && v.bytes().all(|b| (0x21..0x7f).contains(&b))
            })
            .map(str::to_owned);
        let mut bytes = Vec::with_capacity(declared.unwrap_or(16 * 1024).min(cap) as usize);
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if started.elapsed() >= self.options.timeout {
                return Err(SyncError::Timeout {
                    url,
                    phase: Phase::Body,
                    after: self.options.timeout,
                });
            }
            match response.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    bytes.extend_from_slice(&chunk[..n]);
                    if bytes.len() as u64 > cap {
                        return Err(SyncError::TooLarge {
                            url,
                            declared: None,
                            cap,
                        });
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if started.elapsed() >= self.options.timeout || is_timeout(&e) {
                        return Err(SyncError::Timeout {
                            url,
                            phase: Phase::Body,
                            after: self.options.timeout,
                        });
                    }
                    return Err(SyncError::Truncated {
                        url,
                        expected: declared,
                        received: bytes.len() as u64,
                    });
                }
            }
        }
        if let Some(expected) = declared
            && bytes.len() as u64 != expected
        {
            return Err(SyncError::Truncated {
                url,
                expected: Some(expected),
                received: bytes.len() as u64,
            });
        }
        Ok(Fetched::Body { bytes, etag })
    }

    /// [`Fetcher::fetch_once`] with retries for transient failures; returns
    /// what was fetched and how many attempts it took.
    pub fn fetch(
        &self,
        etag: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(Fetched, u32), SyncError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.fetch_once(etag, now) {
                Ok(fetched) => return Ok((fetched, attempt)),
                Err(e) if e.is_transient() && attempt <= self.options.retries => {
                    let wait = self.delay(attempt, e.retry_after());
                    if let Some(OnRetry(tell)) = self.options.on_retry {
                        tell(&Retry {
                            attempt,
                            attempts: self.options.retries.saturating_add(1),
                            error: e.to_string(),
                            wait,
                        });
                    }
                    std::thread::sleep(wait);
                }
                Err(e) if e.is_transient() && attempt > 1 => {
                    return Err(SyncError::GaveUp {
                        attempts: attempt,
                        last: Box::new(e),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The wait before retry `attempt` (1-based): `backoff · 2^(attempt-1)`,
    /// capped at `max_backoff`, jittered to between half and all of it; at
    /// least the server's `Retry-After`, itself capped at `max_backoff`.
    pub fn delay(&self, attempt: u32, retry_after: Option<StdDuration>) -> StdDuration {
        let cap = self.options.max_backoff;
        let exp = self
            .options
            .backoff
            .checked_mul(
                1u32.checked_shl(attempt.saturating_sub(1))
                    .unwrap_or(u32::MAX),
            )
            .unwrap_or(cap)
            .min(cap);
        let jittered = exp.mul_f64(0.5 + 0.5 * random_fraction());
        jittered.max(retry_after.unwrap_or_default().min(cap))
    }
}

fn random_fraction() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 1.0;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

fn check_encodings(url: &str, headers: &HeaderMap) -> Result<(), SyncError> {
    for (name, label, allowed) in [
        (
            header::CONTENT_ENCODING,
            "Content-Encoding",
            &["identity"][..],
        ),
        (
            header::TRANSFER_ENCODING,
            "Transfer-Encoding",
            &["identity", "chunked"][..],
        ),
    ] {
        for value in headers.get_all(&name) {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let bad = text
                .split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .any(|t| !t.is_empty() && !allowed.contains(&t.as_str()));
            if bad {
                return Err(SyncError::Encoding {
                    url: url.to_owned(),
                    header: label,
                    encoding: text,
                });
            }
        }
    }
    Ok(())
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap, now: OffsetDateTime) -> Option<StdDuration> {
    let text = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(StdDuration::from_secs(seconds));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(text, format)
        .ok()?
        .assume_utc();
    Some(StdDuration::try_from(at - now).unwrap_or_default())
}

fn is_timeout(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::TimedOut
        || e.get_ref()
            .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_timeout)
}

/// Every error in a chain, looking inside `io::Error`s (whose `source()`
/// skips the error they wrap).
fn walk<'a>(
    error: &'a (dyn std::error::Error + 'static),
    out: &mut Vec<&'a (dyn std::error::Error + 'static)>,
) {
    out.push(error);
    if let Some(io) = error.downcast_ref::<std::io::Error>()
        && let Some(inner) = io.get_ref()
    {
        walk(inner, out);
        return;
    }
    if let Some(next) = error.source() {
        walk(next, out);
    }
}

fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut all = Vec::new();
    walk(error, &mut all);
    let mut parts: Vec<String> = Vec::new();
    for e in all {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

fn classify(url: &str, error: &reqwest::Error, timeout: StdDuration) -> SyncError {
    let mut all = Vec::new();
    walk(error, &mut all);
    for e in &all {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            use rustls::CertificateError as C;
            let problem = match tls {
                rustls::Error::InvalidCertificate(C::UnknownIssuer) => TlsProblem::UnknownIssuer,
                rustls::Error::InvalidCertificate(
                    C::NotValidForName | C::NotValidForNameContext { .. },
                ) => TlsProblem::NameMismatch,
                rustls::Error::InvalidCertificate(
                    C::Expired
                    | C::ExpiredContext { .. }
                    | C::NotValidYet
                    | C::NotValidYetContext { .. },
                ) => TlsProblem::Expired,
                other => TlsProblem::Other(other.to_string()),
            };
            return SyncError::Tls {
                url: url.to_owned(),
                problem,
            };
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return SyncError::ConnectionRefused {
                url: url.to_owned(),
            };
        }
    }
    if error.is_timeout() {
        return SyncError::Timeout {
            url: url.to_owned(),
            phase: if error.is_connect() {
                Phase::Connect
            } else {
                Phase::Response
            },
            after: timeout,
        };
    }
    if error.is_connect() {
        return SyncError::Connect {
            url: url.to_owned(),
            detail: chain(error),
        };
    }
    SyncError::Request {
        url: url.to_owned(),
        detail: chain(error),
    }
}

/// A proxy URL without its credentials.
fn redact(proxy: &str) -> String {
    match reqwest::Url::parse(proxy) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        _ if proxy.contains('@') => "(a proxy URL with credentials)".to_owned(),
        _ => proxy.to_owned(),
    }
}

/// A verified bundle, in short.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleInfo {
    /// The id.
    pub id: String,
    /// The version.
    pub version: u64,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
    /// When it expires.
    pub expires: OffsetDateTime,
    /// The sha256 of the payload.
    pub sha256: Sha256,
    /// Its freshness at the time of the sync.
    pub expiry: Expiry,
}

impl BundleInfo {
    fn of(bundle: &VerifiedBundle) -> BundleInfo {
        BundleInfo {
            id: bundle.header.id.clone(),
            version: bundle.header.version,
            issued_at: bundle.header.issued_at,
            expires: bundle.header.expires,
            sha256: bundle.sha256,
            expiry: bundle.expiry,
        }
    }
}

/// What a sync changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncChange {
    /// A new bundle replaced the cache ([`SyncOutcome::bundle`]); `from` is
    /// `None` on the first sync, or when the cached copy had been refused.
    Updated {
        /// What was in force before.
        from: Option<BundleInfo>,
    },
    /// `304 Not Modified`: the cached copy is current.
    NotModified,
    /// `200` with exactly the cached bytes (a server without ETags).
    Unchanged,
}

/// A successful sync.
#[derive(Clone, Debug)]
pub struct SyncOutcome {
    /// The URL fetched.
    pub url: String,
    /// What changed.
    pub change: SyncChange,
    /// The bundle in force now.
    pub bundle: BundleInfo,
    /// Attempts made (1 when the first succeeded).
    pub attempts: u32,
    /// Body bytes received (0 for a 304).
    pub body_bytes: u64,
    /// The ETag now recorded.
    pub etag: Option<String>,
    /// Why the previous cached copy did not count, when it did not.
    pub replaced_refused: Option<String>,
}

/// Fetches the cloud bundle, verifies it fully, and replaces the cache
/// (see the module documentation for every step). `state` is the rollback
/// state read from disk (see [`super::load_state`]); it is updated and
/// saved (`rollback.json` under `tree`) only after a bundle verified and
/// the cache was written.
pub fn sync(
    options: &SyncOptions,
    tree: &TrustedTree,
    platform: Platform,
    root: &TrustRoot,
    state: &mut RollbackState,
    now: OffsetDateTime,
) -> Result<SyncOutcome, SyncError> {
    let dir = tree.real(&platform.state_dir().join(CACHE_DIR));
    ensure_dir(&dir).map_err(|source| SyncError::Cache {
        path: dir.clone(),
        source,
    })?;
    let _lock = Lock::take(&dir.join(CACHE_LOCK))?;
    let cached = read_cached(tree, platform, Some(root), state, now);
    let result = sync_locked(options, &dir, tree, platform, root, state, now, &cached);
    if let Err(error) = &result {
        // Best effort: tell `mandate sources` about the failure.
        let mut meta = cached
            .meta
            .clone()
            .unwrap_or_else(|| CacheMeta::new(options.url.clone()));
        if let Some(bundle) = cached.bundle()
            && meta.sha256.is_none()
        {
            meta.id = Some(bundle.header.id.clone());
            meta.version = Some(bundle.header.version);
            meta.sha256 = std::fs::read(dir.join(CACHE_BUNDLE))
                .ok()
                .map(|b| Sha256::of(&b).to_hex());
        }
        meta.last_error = Some(LastError {
            at: rfc3339(now),
            code: error.code().to_owned(),
            message: error.to_string(),
        });
        let _ = write_atomic(&dir.join(CACHE_META), &meta.to_json(), 0o644);
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn sync_locked(
    options: &SyncOptions,
    dir: &Path,
    tree: &TrustedTree,
    platform: Platform,
    root: &TrustRoot,
    state: &mut RollbackState,
    now: OffsetDateTime,
    cached: &super::CachedCloud,
) -> Result<SyncOutcome, SyncError> {
    let url = options.url.clone();
    let previous = cached.bundle();
    let replaced_refused = match &cached.state {
        CacheState::Rejected(e) => Some(e.to_string()),
        _ => None,
    };
    let etag = previous
        .and(cached.meta.as_ref())
        .filter(|m| m.url == url)
        .and_then(|m| m.etag.clone());
    let fetcher = Fetcher::new(options)?;
    let (fetched, attempts) = fetcher.fetch(etag.as_deref(), now)?;
    let save_state = |state: &RollbackState| {
        state
            .save(&tree.real(&state_path(platform)))
            .map_err(SyncError::State)
    };
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        write_atomic(&path, bytes, 0o644).map_err(|source| SyncError::Cache { path, source })
    };
    let (bytes, new_etag) = match fetched {
        Fetched::NotModified => {
            let (Some(bundle), Some(etag)) = (previous, etag) else {
                return Err(SyncError::NotModifiedWithoutCache { url });
            };
            let mut meta = cached
                .meta
                .clone()
                .unwrap_or_else(|| CacheMeta::new(url.clone()));
            meta.checked_at = Some(rfc3339(now));
            meta.last_error = None;
            write(CACHE_META, &meta.to_json())?;
            state.observe(now);
            save_state(state)?;
            return Ok(SyncOutcome {
                url,
                change: SyncChange::NotModified,
                bundle: BundleInfo::of(bundle),
                attempts,
                body_bytes: 0,
                etag: Some(etag),
                replaced_refused: None,
            });
        }
        Fetched::Body { bytes, etag } => (bytes, etag),
    };
    let refused = |error| SyncError::Refused {
        url: url.clone(),
        error,
    };
    let verified =
        verify_bundle(&bytes, root, ManagedSource::Cloud, now, state).map_err(refused)?;
    let same_bytes =
        previous.is_some() && std::fs::read(dir.join(CACHE_BUNDLE)).is_ok_and(|old| old == bytes);
    if !same_bytes {
        // Grace is for devices that cannot reach the server, not for
        // replacing a cache with a bundle that is already stale.
        if !matches!(verified.expiry, Expiry::Fresh { .. }) {
            return Err(SyncError::Expired {
                url,
                id: verified.header.id,
                version: verified.header.version,
                expires: verified.header.expires,
            });
        }
        if root.cloud().and_then(|c| c.bundle.as_deref()).is_none()
            && let Some(previous) = previous
            && previous.header.id != verified.header.id
        {
            return Err(SyncError::IdChanged {
                url,
                cached: previous.header.id.clone(),
                found: verified.header.id,
            });
        }
        write(CACHE_BUNDLE, &bytes)?;
    }
    let file_sha = Sha256::of(&bytes).to_hex();
    let mut meta = CacheMeta::new(url.clone());
    meta.etag = new_etag.clone();
    meta.fetched_at = if same_bytes {
        cached
            .meta
            .as_ref()
            .and_then(|m| m.fetched_at.clone())
            .or(Some(rfc3339(now)))
    } else {
        Some(rfc3339(now))
    };
    meta.checked_at = Some(rfc3339(now));
    meta.id = Some(verified.header.id.clone());
    meta.version = Some(verified.header.version);
    meta.sha256 = Some(file_sha);
    write(CACHE_META, &meta.to_json())?;
    state
        .record_bundle(&verified, now)
        .map_err(|e| refused(BundleError::Rollback(e)))?;
    save_state(state)?;
    let to = BundleInfo::of(&verified);
    Ok(SyncOutcome {
        url,
        change: if same_bytes {
            SyncChange::Unchanged
        } else {
            SyncChange::Updated {
                from: previous.map(BundleInfo::of),
            }
        },
        bundle: to,
        attempts,
        body_bytes: bytes.len() as u64,
        etag: new_etag,
        replaced_refused,
    })
}

/// The cache lock, released when dropped (the descriptor closes).
struct Lock(#[allow(dead_code)] crate::atomic::Lock);

impl Lock {
    /// Tries once: a second sync reports the one already running.
    fn take(path: &Path) -> Result<Lock, SyncError> {
        match crate::atomic::lock(path, std::time::Duration::ZERO) {
            Ok(lock) => Ok(Lock(lock)),
            Err(crate::atomic::LockError::Busy { .. }) => Err(SyncError::Busy {
                path: path.to_path_buf(),
            }),
            Err(crate::atomic::LockError::Io { source, .. }) => Err(SyncError::Cache {
                path: path.to_path_buf(),
                source,
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = time::macros::datetime!(2015-10-21 07:28:00 UTC);
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "120".parse().unwrap());
        assert_eq!(
            retry_after(&headers, now),
            Some(StdDuration::from_secs(120))
        );
        headers.insert(
            header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:29:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers, now), Some(StdDuration::from_secs(60)));
        headers.insert(
            header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:00:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers, now), Some(StdDuration::ZERO));
        headers.insert(header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers, now), None);
    }

    #[test]
    fn backoff_doubles_is_jittered_capped_and_honours_retry_after() {
        let mut options = SyncOptions::new("https://example.invalid/b.bundle");
        options.backoff = StdDuration::from_secs(1);
        options.max_backoff = StdDuration::from_secs(10);
        let fetcher = Fetcher::new(&options).unwrap();
        for attempt in 1..=40 {
            let d = fetcher.delay(attempt, None);
            let full = StdDuration::from_secs(1u64 << (attempt - 1).min(10))
                .min(StdDuration::from_secs(10));
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert!(fetcher.delay(1, Some(StdDuration::from_secs(5))) >= StdDuration::from_secs(5));
        assert_eq!(
            fetcher.delay(1, Some(StdDuration::from_secs(3600))),
            StdDuration::from_secs(10)
        );
    }

    #[test]
    fn encodings_other_than_identity_are_refused() {
        let mut headers = HeaderMap::new();
        assert!(check_encodings("u", &headers).is_ok());
        headers.insert(header::CONTENT_ENCODING, "identity".parse().unwrap());
        headers.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        assert!(check_encodings("u", &headers).is_ok());
        headers.insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        assert_eq!(
            check_encodings("u", &headers).unwrap_err().code(),
            "content-encoding"
        );
        headers.insert(header::CONTENT_ENCODING, "identity".parse().unwrap());
        headers.insert(header::TRANSFER_ENCODING, "gzip, chunked".parse().unwrap());
        assert_eq!(
            check_encodings("u", &headers).unwrap_err().code(),
            "content-encoding"
        );
    }

    #[test]
    fn urls_must_be_https_and_proxies_lose_credentials() {
        assert_eq!(
            Fetcher::new(&SyncOptions::new("http://example.invalid/b"))
                .unwrap_err()
                .code(),
            "bad-url"
        );
        assert_eq!(
            Fetcher::new(&SyncOptions::new("not a url"))
                .unwrap_err()
                .code(),
            "bad-url"
        );
        assert_eq!(
            redact("http://user:secret@proxy:3128"),
            "http://proxy:3128/"
        );
        assert_eq!(redact("http://proxy:3128"), "http://proxy:3128");
    }
}
