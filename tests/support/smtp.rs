//! A small SMTP server for the tests, written here: it listens on 127.0.0.1 over real TCP, speaks
//! RFC 5321 (EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT),
//! does TLS with rustls (implicit or after STARTTLS) and keeps every message it accepted. Its
//! replies can be scripted per stage (`451` to the end of DATA twice, `550` to RCPT, silence
//! after connecting, …) to test how the sender handles a failing server. It is not a mail server:
//! it delivers nothing anywhere.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;

/// The points of a session where a reply can be scripted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Greeting,
    Ehlo,
    Mail,
    Rcpt,
    Data,
    /// The reply to the message itself, after the final `.`.
    EndOfData,
}

/// A scripted reply.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Send this line (code and text) instead of the normal reply.
    Line(String),
    /// Say nothing and keep the connection open until the client gives up.
    Silence,
    /// Wait this long, then give the normal reply (a slow server).
    Slow(Duration),
}

#[derive(Debug, Clone)]
struct Rule {
    stage: Stage,
    reply: Reply,
    /// How many times it applies; `None` for always.
    times: Option<usize>,
}

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: Vec<u8>,
    pub tls: bool,
    pub auth_user: Option<String>,
}

/// How the server does TLS.
#[derive(Clone)]
pub enum TlsMode {
    None,
    Starttls(Arc<rustls::ServerConfig>),
    Implicit(Arc<rustls::ServerConfig>),
}

#[derive(Default)]
struct Shared {
    rules: VecDeque<Rule>,
    received: Vec<Received>,
    sessions: usize,
}

/// A running server. Dropping it stops it.
pub struct SmtpServer {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

/// Credentials the server requires, when set.
pub type Login = Option<(String, String)>;

impl SmtpServer {
    /// A plain server on a free port.
    pub fn start() -> SmtpServer {
        Self::start_on(0, TlsMode::None, None)
    }

    /// A server on `port` (0 for any free one), with TLS and required credentials as given.
    pub fn start_on(port: u16, tls: TlsMode, login: Login) -> SmtpServer {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("binding the test SMTP port");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let shared = shared.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let shared = shared.clone();
                    let tls = tls.clone();
                    let login = login.clone();
                    std::thread::spawn(move || {
                        let _ = Session::run(stream, shared, tls, login);
                    });
                }
            })
        };
        SmtpServer {
            addr,
            shared,
            stop,
            handle: Some(handle),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Replies `reply` at `stage` the next `times` times (`None`: always).
    pub fn script(&self, stage: Stage, reply: Reply, times: Option<usize>) {
        self.shared.lock().unwrap().rules.push_back(Rule {
            stage,
            reply,
            times,
        });
    }

    /// Every message accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    /// How many connections were made.
    pub fn sessions(&self) -> usize {
        self.shared.lock().unwrap().sessions
    }

    /// Stops listening; the port is free again afterwards.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
    Taken,
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Taken => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Taken => Err(io::ErrorKind::NotConnected.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
            Stream::Taken => Ok(()),
        }
    }
}

struct Session {
    stream: Stream,
    buf: Vec<u8>,
    shared: Arc<Mutex<Shared>>,
    tls: TlsMode,
    login: Login,
    authed: Option<String>,
    encrypted: bool,
}

impl Session {
    fn run(
        stream: TcpStream,
        shared: Arc<Mutex<Shared>>,
        tls: TlsMode,
        login: Login,
    ) -> io::Result<()> {
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        shared.lock().unwrap().sessions += 1;
        let mut encrypted = false;
        let stream = match &tls {
            TlsMode::Implicit(cfg) => {
                encrypted = true;
                let conn = rustls::ServerConnection::new(cfg.clone()).map_err(io::Error::other)?;
                Stream::Tls(Box::new(rustls::StreamOwned::new(conn, stream)))
            }
            _ => Stream::Plain(stream),
        };
        let mut s = Session {
            stream,
            buf: Vec::new(),
            shared,
            tls,
            login,
            authed: None,
            encrypted,
        };
        let r = s.converse();
        if let Stream::Plain(t) = &s.stream {
            let _ = t.shutdown(Shutdown::Both);
        }
        if let Stream::Tls(t) = &s.stream {
            let _ = t.sock.shutdown(Shutdown::Both);
        }
        r
    }

    /// The scripted reply for `stage`, if any, used up once.
    fn scripted(&self, stage: Stage) -> Option<Reply> {
        let mut sh = self.shared.lock().unwrap();
        let i = sh
            .rules
            .iter()
            .position(|r| r.stage == stage && r.times != Some(0))?;
        let rule = &mut sh.rules[i];
        if let Some(n) = &mut rule.times {
            *n -= 1;
        }
        match rule.reply.clone() {
            Reply::Slow(d) => {
                drop(sh);
                std::thread::sleep(d);
                None
            }
            reply => Some(reply),
        }
    }

    /// Sends the normal reply or the scripted one; `false` when the session should end.
    fn reply(&mut self, stage: Stage, normal: &str) -> io::Result<bool> {
        match self.scripted(stage) {
            None | Some(Reply::Slow(_)) => {
                self.send(normal)?;
                Ok(true)
            }
            Some(Reply::Line(l)) => {
                self.send(&l)?;
                // A refused greeting ends the session, as real servers do.
                Ok(stage != Stage::Greeting || l.starts_with('2'))
            }
            Some(Reply::Silence) => {
                // Wait until the client hangs up.
                let mut b = [0u8; 256];
                while matches!(self.stream.read(&mut b), Ok(n) if n > 0) {}
                Ok(false)
            }
        }
    }

    fn send(&mut self, line: &str) -> io::Result<()> {
        self.stream.write_all(line.as_bytes())?;
        self.stream.write_all(b"\r\n")?;
        self.stream.flush()
    }

    fn read_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(p) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..p].to_vec();
                self.buf.drain(..p + 2);
                return Ok(Some(line));
            }
            let mut chunk = [0u8; 8192];
            let n = match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(e),
            };
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn ehlo_lines(&self) -> String {
        let mut ext = vec!["jixiao-test-smtp", "8BITMIME", "SMTPUTF8", "SIZE 52428800"];
        if self.login.is_some() {
            ext.push("AUTH PLAIN");
        }
        if matches!(self.tls, TlsMode::Starttls(_)) && !self.encrypted {
            ext.push("STARTTLS");
        }
        let last = ext.len() - 1;
        ext.iter()
            .enumerate()
            .map(|(i, e)| format!("250{}{e}", if i == last { ' ' } else { '-' }))
            .collect::<Vec<_>>()
            .join("\r\n")
    }

    fn converse(&mut self) -> io::Result<()> {
        if !self.reply(Stage::Greeting, "220 127.0.0.1 jixiao test SMTP ready")? {
            return Ok(());
        }
        let mut mail_from: Option<String> = None;
        let mut rcpt: Vec<String> = Vec::new();
        while let Some(line) = self.read_line()? {
            let line = String::from_utf8_lossy(&line).to_string();
            let upper = line.to_ascii_uppercase();
            let verb = upper.split_whitespace().next().unwrap_or("").to_string();
            match verb.as_str() {
                "EHLO" | "HELO" => {
                    let lines = self.ehlo_lines();
                    if !self.reply(Stage::Ehlo, &lines)? {
                        return Ok(());
                    }
                }
                "STARTTLS" => {
                    let TlsMode::Starttls(cfg) = self.tls.clone() else {
                        self.send("502 5.5.1 STARTTLS not offered")?;
                        continue;
                    };
                    self.send("220 2.0.0 go ahead")?;
                    let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Taken)
                    else {
                        return Ok(());
                    };
                    let conn = rustls::ServerConnection::new(cfg).map_err(io::Error::other)?;
                    self.stream = Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)));
                    self.encrypted = true;
                    self.buf.clear();
                    mail_from = None;
                    rcpt.clear();
                }
                "AUTH" => {
                    let parts: Vec<&str> = line.split_whitespace().collect();
                    let creds = match parts.get(2) {
                        Some(c) => c.to_string(),
                        None => {
                            self.send("334 ")?;
                            match self.read_line()? {
                                Some(l) => String::from_utf8_lossy(&l).to_string(),
                                None => return Ok(()),
                            }
                        }
                    };
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(creds.trim())
                        .unwrap_or_default();
                    let fields: Vec<String> = decoded
                        .split(|b| *b == 0)
                        .map(|f| String::from_utf8_lossy(f).to_string())
                        .collect();
                    match (&self.login, fields.as_slice()) {
                        (Some((u, p)), [_, user, pass]) if user == u && pass == p => {
                            self.authed = Some(user.clone());
                            self.send("235 2.7.0 authenticated")?;
                        }
                        _ => self.send("535 5.7.8 authentication failed")?,
                    }
                }
                "MAIL" => {
                    if self.login.is_some() && self.authed.is_none() {
                        self.send("530 5.7.0 authentication required")?;
                        continue;
                    }
                    let addr = angle(&line);
                    if self.reply(Stage::Mail, "250 2.1.0 sender ok")? {
                        mail_from = Some(addr);
                        rcpt.clear();
                    } else {
                        return Ok(());
                    }
                }
                "RCPT" => {
                    if mail_from.is_none() {
                        self.send("503 5.5.1 MAIL first")?;
                        continue;
                    }
                    let addr = angle(&line);
                    match self.scripted(Stage::Rcpt) {
                        Some(Reply::Line(l)) => self.send(&l)?,
                        Some(Reply::Silence) => return Ok(()),
                        None | Some(Reply::Slow(_)) => {
                            rcpt.push(addr);
                            self.send("250 2.1.5 recipient ok")?;
                        }
                    }
                }
                "DATA" => {
                    if rcpt.is_empty() {
                        self.send("554 5.5.1 no valid recipients")?;
                        continue;
                    }
                    if !self.reply(Stage::Data, "354 end data with <CR><LF>.<CR><LF>")? {
                        return Ok(());
                    }
                    let mut data = Vec::new();
                    loop {
                        let Some(l) = self.read_line()? else {
                            return Ok(());
                        };
                        if l == b"." {
                            break;
                        }
                        let l = if l.starts_with(b"..") {
                            &l[1..]
                        } else {
                            &l[..]
                        };
                        data.extend_from_slice(l);
                        data.extend_from_slice(b"\r\n");
                    }
                    // A real server stores the message before it answers 250.
                    match self.scripted(Stage::EndOfData) {
                        Some(Reply::Line(l)) => {
                            if l.starts_with('2') {
                                self.record(&mail_from, &rcpt, data);
                            }
                            self.send(&l)?;
                        }
                        Some(Reply::Silence) => return Ok(()),
                        None | Some(Reply::Slow(_)) => {
                            self.record(&mail_from, &rcpt, data);
                            self.send("250 2.0.0 queued")?;
                        }
                    }
                    mail_from = None;
                    rcpt.clear();
                }
                "RSET" => {
                    mail_from = None;
                    rcpt.clear();
                    self.send("250 2.0.0 ok")?;
                }
                "NOOP" => self.send("250 2.0.0 ok")?,
                "QUIT" => {
                    self.send("221 2.0.0 bye")?;
                    return Ok(());
                }
                _ => self.send("502 5.5.2 command not recognized")?,
            }
        }
        Ok(())
    }

    fn record(&self, mail_from: &Option<String>, rcpt: &[String], data: Vec<u8>) {
        self.shared.lock().unwrap().received.push(Received {
            mail_from: mail_from.clone().unwrap_or_default(),
            rcpt_to: rcpt.to_vec(),
            data,
            tls: self.encrypted,
            auth_user: self.authed.clone(),
        });
    }
}

fn angle(line: &str) -> String {
    match (line.find('<'), line.find('>')) {
        (Some(a), Some(b)) if a < b => line[a + 1..b].to_string(),
        _ => String::new(),
    }
}

/// A test certificate authority and a server certificate for 127.0.0.1 and localhost, signed by
/// it. Returns the server configuration and the CA certificate in PEM, for the client to trust.
pub fn tls_config() -> (Arc<rustls::ServerConfig>, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "jixiao test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (Arc::new(cfg), ca_cert.pem())
}
