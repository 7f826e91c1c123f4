//! Loopback HTTPS servers that play network faults, a throwaway PKI, and
//! signed bundles made with fixed keys. Shared by `tests/cloud_faults.rs`
//! and `benches/fleet.rs`.

#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mandate::source::ManagedSource;
use mandate::trust::envelope::{Envelope, POLICY_PAYLOAD_TYPE};
use mandate::trust::keys::SecretKey;
use mandate::trust::root::{CloudConfig, TrustRoot, TrustRootBuilder};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;
use time::macros::datetime;

pub const NOW: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);
pub const ORG: &str = "acme";
pub const ID: &str = "acme-baseline";

pub fn key(i: u8) -> SecretKey {
    SecretKey::from_seed(&[i; 32])
}

/// The trust root: root key 1, policy key 11, every source signed, a
/// `[cloud]` section naming `bundle` when given.
pub fn trust_root(url: &str, bundle: Option<&str>) -> TrustRoot {
    TrustRoot::verify_self(&trust_root_bytes(url, bundle), NOW).unwrap()
}

pub fn trust_root_bytes(url: &str, bundle: Option<&str>) -> Vec<u8> {
    let body = TrustRootBuilder::new(ORG, datetime!(2030-01-01 00:00 UTC))
        .root_keys(vec![key(1).public().clone()], 1)
        .policy_keys(vec![key(11).public().clone()], 1)
        .signed_sources(ManagedSource::DEFAULT_ORDER.to_vec())
        .cloud(Some(CloudConfig {
            url: url.to_owned(),
            ca: None,
            bundle: bundle.map(str::to_owned),
        }))
        .body()
        .unwrap();
    TrustRoot::sign(&body, &[&key(1)]).unwrap()
}

/// A policy payload.
pub struct Policy<'a> {
    pub org: &'a str,
    pub channel: &'a str,
    pub id: &'a str,
    pub version: u64,
    pub issued_at: &'a str,
    pub expires: &'a str,
    pub mode: &'a str,
}

impl Policy<'_> {
    pub fn version(version: u64) -> Policy<'static> {
        Policy {
            org: ORG,
            channel: "cloud",
            id: ID,
            version,
            issued_at: "2026-05-01T00:00:00Z",
            expires: "2026-12-01T00:00:00Z",
            mode: "read-only",
        }
    }

    pub fn payload(&self) -> Vec<u8> {
        format!(
            "[policy]\norg = \"{}\"\nchannel = \"{}\"\nid = \"{}\"\nversion = {}\nissued_at = {}\nexpires = {}\n\n[settings]\n\"sandbox.mode\" = \"{}\"\n",
            self.org, self.channel, self.id, self.version, self.issued_at, self.expires, self.mode
        )
        .into_bytes()
    }

    /// Signed by policy key 11.
    pub fn bundle(&self) -> Vec<u8> {
        self.signed_by(&key(11))
    }

    pub fn signed_by(&self, key: &SecretKey) -> Vec<u8> {
        Envelope::sign(POLICY_PAYLOAD_TYPE, &self.payload(), &[key]).to_json()
    }
}

/// A throwaway CA and certificates it issues.
pub struct Pki {
    pub ca_pem: String,
    ca_cert: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
}

/// A server certificate chain and key.
#[derive(Clone)]
pub struct ServerCert {
    pub chain: Vec<CertificateDer<'static>>,
    pub key_der: Vec<u8>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca_cert = params.self_signed(&ca_key).unwrap();
        Pki {
            ca_pem: ca_cert.pem(),
            ca_cert,
            ca_key,
        }
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    pub fn server(&self, names: &[&str]) -> ServerCert {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0]);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca_cert, &self.ca_key).unwrap();
        ServerCert {
            chain: vec![cert.der().clone()],
            key_der: key.serialize_der(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    pub fn write_ca(&self, path: &Path) {
        std::fs::write(path, &self.ca_pem).unwrap();
    }
}

pub fn server_config(cert: &ServerCert) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            cert.chain.clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_der.clone())),
        )
        .unwrap();
    Arc::new(config)
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with a request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A response; `length` is the declared `Content-Length` (`None`: no
    /// header, the body ends when the connection closes).
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        length: Option<u64>,
        /// Send the body one byte at a time, this far apart.
        drip: Option<Duration>,
    },
    /// Read the request and never answer.
    Hang,
}

impl Reply {
    pub fn ok(body: Vec<u8>) -> Reply {
        Reply::status(200, body)
    }

    pub fn status(status: u16, body: Vec<u8>) -> Reply {
        let length = Some(body.len() as u64);
        Reply::Respond {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/vnd.mandate.bundle+json".into(),
            )],
            body,
            length,
            drip: None,
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    pub fn with_length(mut self, declared: Option<u64>) -> Reply {
        if let Reply::Respond { length, .. } = &mut self {
            *length = declared;
        }
        self
    }

    pub fn dripping(mut self, every: Duration) -> Reply {
        if let Reply::Respond { drip, .. } = &mut self {
            *drip = Some(every);
        }
        self
    }
}

/// The handler: the request and its 0-based index among all requests.
pub type Handler = Arc<dyn Fn(&Request, usize) -> Reply + Send + Sync>;

/// Serves a fixed body with a strong ETag and honours `If-None-Match`.
pub fn static_file(body: Vec<u8>) -> Handler {
    let etag = format!(
        "\"{}\"",
        mandate::trust::Sha256::of(&body)
            .to_hex()
            .get(..16)
            .unwrap_or("")
    );
    Arc::new(move |request: &Request, _| {
        if request.header("if-none-match") == Some(etag.as_str()) {
            Reply::status(304, Vec::new()).with_header("ETag", &etag)
        } else {
            Reply::ok(body.clone()).with_header("ETag", &etag)
        }
    })
}

/// A loopback HTTPS server (or, with `proxy`, an intercepting HTTPS proxy
/// that answers `CONNECT` and then plays the server itself).
pub struct Server {
    pub addr: SocketAddr,
    handler: Arc<Mutex<Handler>>,
    pub requests: Arc<Mutex<Vec<Request>>>,
    pub connects: Arc<AtomicUsize>,
    /// Bytes read from and written to the TCP sockets, TLS included.
    pub wire_in: Arc<AtomicUsize>,
    pub wire_out: Arc<AtomicUsize>,
    /// CPU time of the finished connection threads, in nanoseconds, and
    /// how many are still running.
    pub cpu_ns: Arc<AtomicU64>,
    pub active: Arc<AtomicUsize>,
}

impl Server {
    pub fn start(cert: &ServerCert, handler: Handler) -> Server {
        Server::spawn(cert, handler, false)
    }

    pub fn proxy(cert: &ServerCert, handler: Handler) -> Server {
        Server::spawn(cert, handler, true)
    }

    fn spawn(cert: &ServerCert, handler: Handler, proxy: bool) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Server {
            addr,
            handler: Arc::new(Mutex::new(handler)),
            requests: Arc::default(),
            connects: Arc::default(),
            wire_in: Arc::default(),
            wire_out: Arc::default(),
            cpu_ns: Arc::default(),
            active: Arc::default(),
        };
        let config = server_config(cert);
        let (handler, requests, connects) = (
            server.handler.clone(),
            server.requests.clone(),
            server.connects.clone(),
        );
        let (wire_in, wire_out) = (server.wire_in.clone(), server.wire_out.clone());
        let (cpu_ns, active) = (server.cpu_ns.clone(), server.active.clone());
        std::thread::Builder::new()
            .name("test-server".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let _ = stream.set_nodelay(true);
                    let config = config.clone();
                    let (handler, requests, connects) =
                        (handler.clone(), requests.clone(), connects.clone());
                    let counted = Counted {
                        inner: stream,
                        read: wire_in.clone(),
                        written: wire_out.clone(),
                    };
                    let (cpu_ns, done) = (cpu_ns.clone(), active.clone());
                    active.fetch_add(1, Ordering::SeqCst);
                    let spawned = std::thread::Builder::new()
                        .name("test-server-conn".into())
                        .spawn(move || {
                            let _ = serve(counted, config, handler, requests, connects, proxy);
                            cpu_ns.fetch_add(thread_cpu_ns(), Ordering::SeqCst);
                            done.fetch_sub(1, Ordering::SeqCst);
                        });
                    if spawned.is_err() {
                        active.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            })
            .unwrap();
        server
    }

    pub fn set(&self, handler: Handler) {
        *self.handler.lock().unwrap() = handler;
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn last_request(&self) -> Option<Request> {
        self.requests.lock().unwrap().last().cloned()
    }
}

/// CPU time used by the calling thread so far, in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// CPU time used by the whole process so far (finished threads included), in nanoseconds.
pub fn process_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// A TCP stream that counts bytes.
pub struct Counted {
    pub inner: TcpStream,
    pub read: Arc<AtomicUsize>,
    pub written: Arc<AtomicUsize>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written.fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn serve(
    mut tcp: Counted,
    config: Arc<rustls::ServerConfig>,
    handler: Arc<Mutex<Handler>>,
    requests: Arc<Mutex<Vec<Request>>>,
    connects: Arc<AtomicUsize>,
    proxy: bool,
) -> std::io::Result<()> {
    tcp.inner.set_read_timeout(Some(Duration::from_secs(20)))?;
    if proxy {
        let head = read_head(&mut tcp)?;
        if !head.starts_with("CONNECT ") {
            tcp.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")?;
            return Ok(());
        }
        connects.fetch_add(1, Ordering::SeqCst);
        tcp.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    }
    let connection = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    loop {
        let head = match read_head(&mut tls) {
            Ok(head) if !head.is_empty() => head,
            _ => return Ok(()),
        };
        let request = parse_request(&head);
        let index = {
            let mut all = requests.lock().unwrap();
            all.push(request.clone());
            all.len() - 1
        };
        let handler = handler.lock().unwrap().clone();
        match handler(&request, index) {
            Reply::Hang => {
                std::thread::sleep(Duration::from_secs(15));
                return Ok(());
            }
            Reply::Respond {
                status,
                headers,
                body,
                length,
                drip,
            } => {
                let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
                for (name, value) in &headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                if let Some(length) = length {
                    head.push_str(&format!("Content-Length: {length}\r\n"));
                }
                // Close-delimited bodies need the connection closed; keep
                // the others alive so clients can reuse them.
                let close = length.is_none() || drip.is_some() || length != Some(body.len() as u64);
                if close {
                    head.push_str("Connection: close\r\n");
                }
                head.push_str("\r\n");
                tls.write_all(head.as_bytes())?;
                match drip {
                    None => tls.write_all(&body)?,
                    Some(every) => {
                        tls.flush()?;
                        for byte in &body {
                            std::thread::sleep(every);
                            tls.write_all(std::slice::from_ref(byte))?;
                            tls.flush()?;
                        }
                    }
                }
                tls.flush()?;
                if close {
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                    let _ = tls.sock.inner.shutdown(std::net::Shutdown::Write);
                    // Give the client time to read before the socket drops.
                    std::thread::sleep(Duration::from_millis(50));
                    return Ok(());
                }
            }
        }
    }
}

fn read_head(stream: &mut impl Read) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            break;
        }
        head.push(byte[0]);
        if head.len() > 64 * 1024 {
            return Err(std::io::Error::other("request head too large"));
        }
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

fn parse_request(head: &str) -> Request {
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_owned();
    let path = first.next().unwrap_or("").to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Request {
        method,
        path,
        headers,
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

/// A listener that accepts connections and never says anything.
pub struct Silent {
    pub addr: SocketAddr,
}

impl Silent {
    pub fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
                if held.len() > 64 {
                    break;
                }
            }
        });
        Silent { addr }
    }
}

/// A port nothing listens on.
pub fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

/// A real gzip stream of `size` zero bytes (fixed Huffman codes, runs of
/// 258): about 1/160 of `size`.
pub fn gzip_bomb(size: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u32,
        n: u32,
    }
    impl Bits {
        fn put(&mut self, value: u32, count: u32) {
            // LSB first.
            self.acc |= value << self.n;
            self.n += count;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        fn huffman(&mut self, code: u32, len: u32) {
            // Huffman codes go most significant bit first.
            let mut reversed = 0;
            for i in 0..len {
                reversed |= ((code >> i) & 1) << (len - 1 - i);
            }
            self.put(reversed, len);
        }
    }
    let mut bits = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3],
        acc: 0,
        n: 0,
    };
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // fixed Huffman
    bits.huffman(0x30, 8); // literal 0
    let mut left = size - 1;
    while left >= 258 {
        bits.huffman(0xc5, 8); // length 258 (symbol 285)
        bits.huffman(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.huffman(0x30, 8);
    }
    bits.huffman(0, 7); // end of block
    if bits.n > 0 {
        bits.out.push(bits.acc as u8);
    }
    let mut out = bits.out;
    out.extend_from_slice(&crc32_zeros(size).to_le_bytes());
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out
}

/// The CRC-32 of `size` zero bytes, in O(log size): one zero byte is a
/// linear map of the CRC register, raised to the `size`-th power.
pub fn crc32_zeros(size: usize) -> u32 {
    let table = crc_table();
    let apply = |m: &[u32; 32], v: u32| {
        (0..32)
            .filter(|i| (v >> i) & 1 == 1)
            .fold(0, |acc, i| acc ^ m[i])
    };
    let mut op: [u32; 32] = std::array::from_fn(|i| {
        let reg = 1u32 << i;
        table[(reg & 0xff) as usize] ^ (reg >> 8)
    });
    let mut reg = !0u32;
    let mut n = size;
    while n > 0 {
        if n & 1 == 1 {
            reg = apply(&op, reg);
        }
        op = std::array::from_fn(|i| apply(&op, op[i]));
        n >>= 1;
    }
    !reg
}

/// The CRC-32 of `bytes`, a byte at a time.
pub fn crc32(bytes: &[u8]) -> u32 {
    let table = crc_table();
    !bytes.iter().fold(!0u32, |crc, b| {
        table[((crc ^ u32::from(*b)) & 0xff) as usize] ^ (crc >> 8)
    })
}

fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    for (i, entry) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *entry = c;
    }
    table
}

/// Reads a whole `BufRead` line (for child process output).
pub fn read_line(reader: &mut BufReader<impl Read>) -> String {
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    line
}
