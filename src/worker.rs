//! Judging files in a worker process, where a file's crash, hang or memory cannot reach the
//! daemon.
//!
//! The daemon never reads a department's bytes itself: it hands each file to a worker — the same
//! binary started as `jixiao worker` — and waits for the checked form. The worker runs under hard
//! limits: an address-space limit (room for the allocator's reservations above the resident
//! limit), a CPU-time limit renewed for each file, and the daemon's watch on its resident memory
//! and wall time. A worker that dies, exceeds its memory or outlives its time is killed and
//! started afresh for the next file, and the file that did it is answered with a clear rejection
//! ([`IssueCode::TooComplex`]) instead of bringing anything else down.
//!
//! The worker also writes the annotated workbook of a returned form (the department's own file
//! with its errors marked), the other piece of work that reads a department's bytes.
//!
//! The protocol is framed binary on the worker's standard input and output, each frame a `u64`
//! length and the bytes: a request is a JSON header ([`Request`]) and the file's bytes; a reply
//! is the JSON of the check, or the annotated workbook (empty when it could not be made). The
//! worker's log lines go to the daemon's standard error.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::check::{CheckResult, Checked, Checker};
use crate::forms::read::RawForm;
use crate::rules::issue::{Issue, IssueCode};
use crate::runtime::Hooks;

/// What judging one file may cost: `[limits]` in jixiao.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerLimits {
    /// Resident memory of the worker, in MiB.
    pub memory_mb: u64,
    /// Wall time (and CPU time) for one file, in seconds.
    pub seconds: u64,
}

impl Default for WorkerLimits {
    fn default() -> Self {
        WorkerLimits {
            memory_mb: 1024,
            seconds: 8,
        }
    }
}

impl WorkerLimits {
    fn wall(&self) -> Duration {
        Duration::from_secs(self.seconds.max(1))
    }

    fn resident_bytes(&self) -> u64 {
        self.memory_mb.max(64) * 1024 * 1024
    }

    /// The address-space limit: the resident limit plus room for the allocator's reservations
    /// (mimalloc reserves its arenas ahead of use). It stops a single huge allocation at once;
    /// the resident limit is watched by the daemon.
    fn address_space_bytes(&self) -> u64 {
        self.resident_bytes() * 2 + 1024 * 1024 * 1024
    }
}

/// How the daemon starts a worker: the same program, the same form definitions.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    /// The program; `/proc/self/exe` by default, which stays valid when the installed binary is
    /// replaced by an upgrade while the daemon runs.
    pub(crate) program: PathBuf,
    /// The folder of form definitions, when not the built-in ones.
    pub(crate) forms: Option<PathBuf>,
    pub(crate) limits: WorkerLimits,
}

impl Launch {
    pub(crate) fn new(forms: Option<PathBuf>, limits: WorkerLimits) -> Launch {
        Launch {
            program: PathBuf::from("/proc/self/exe"),
            forms,
            limits,
        }
    }

    fn start(&self) -> io::Result<Running> {
        let mut cmd = Command::new(&self.program);
        if let Some(dir) = &self.forms {
            cmd.arg("--forms").arg(dir);
        }
        cmd.arg("worker")
            .arg("--memory-mb")
            .arg(self.limits.memory_mb.to_string())
            .arg("--seconds")
            .arg(self.limits.seconds.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // An abort's message is one line in the daemon's log, not a backtrace.
            .env("RUST_BACKTRACE", "0");
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let (tx, replies) = mpsc::channel();
        // The replies are read on their own thread so that the daemon can wait with a deadline.
        std::thread::Builder::new()
            .name("worker-replies".into())
            .spawn(move || {
                let mut out = BufReader::new(stdout);
                loop {
                    let reply = read_frame(&mut out, MAX_REPLY);
                    let end = !matches!(reply, Ok(Some(_)));
                    if tx.send(reply).is_err() || end {
                        return;
                    }
                }
            })?;
        tracing::debug!(pid = child.id(), "worker started");
        Ok(Running {
            child,
            stdin: BufWriter::new(stdin),
            replies,
        })
    }
}

struct Running {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    replies: Receiver<io::Result<Option<Vec<u8>>>>,
}

/// Why a file got no answer from its worker.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The worker outlived its time and was killed.
    TimedOut(Duration),
    /// The worker grew past its memory and was killed.
    TooMuchMemory(u64),
    /// The worker died on its own (a crash, an abort on a failed allocation, the CPU limit).
    Died(String),
    /// No worker could be started: nothing was judged, the file may be tried again.
    Start(io::Error),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::TimedOut(d) => write!(f, "still working after {} s: killed", d.as_secs()),
            Failure::TooMuchMemory(b) => {
                write!(
                    f,
                    "resident memory reached {} MiB: killed",
                    b / (1024 * 1024)
                )
            }
            Failure::Died(how) => write!(f, "the worker died: {how}"),
            Failure::Start(e) => write!(f, "cannot start a worker: {e}"),
        }
    }
}

/// A worker process, started when first needed and again after it died or was killed.
pub(crate) struct Worker {
    launch: Launch,
    running: Option<Running>,
}

impl Worker {
    pub(crate) fn new(launch: Launch) -> Worker {
        Worker {
            launch,
            running: None,
        }
    }

    /// Checks one file in the worker. On a [`Failure`] other than `Start`, the file is to be
    /// answered with [`too_complex`].
    pub(crate) fn judge(&mut self, name: &str, bytes: &[u8]) -> Result<Checked, Failure> {
        let header = Request::Check {
            name: name.to_string(),
        };
        let json = self.call(&header, bytes)?;
        match serde_json::from_slice::<Reply>(&json) {
            Ok(reply) => Ok(Checked {
                result: reply.result,
                form: reply.form,
            }),
            Err(e) => {
                self.kill();
                Err(Failure::Died(format!("an unreadable reply ({e})")))
            }
        }
    }

    /// The annotated workbook of a returned form, made in the worker; `None` (logged) when it
    /// cannot be made within the limits — the letter then goes without it.
    pub(crate) fn annotate(
        &mut self,
        name: &str,
        form: &RawForm,
        errors: &[Issue],
        bytes: &[u8],
    ) -> Option<Vec<u8>> {
        let header = Request::Annotate {
            name: name.to_string(),
            form: Box::new(form.clone()),
            errors: errors.to_vec(),
        };
        match self.call(&header, bytes) {
            Ok(made) if !made.is_empty() => Some(made),
            Ok(_) => None,
            Err(failure) => {
                tracing::warn!(file = name, reason = %failure, "annotated workbook not made; the letter goes without it");
                None
            }
        }
    }

    /// Sends one request and waits for its reply within the limits.
    fn call(&mut self, header: &Request, bytes: &[u8]) -> Result<Vec<u8>, Failure> {
        let header = serde_json::to_vec(header)
            .map_err(|e| Failure::Start(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        if self.running.is_none() {
            self.running = Some(self.launch.start().map_err(Failure::Start)?);
        }
        let running = self.running.as_mut().expect("started above");
        if let Err(e) = write_request(&mut running.stdin, &header, bytes) {
            // A worker that died idle (killed from outside): start afresh and send once more.
            tracing::warn!(error = %e, "the worker was gone; starting a new one");
            self.stop();
            self.running = Some(self.launch.start().map_err(Failure::Start)?);
            let running = self.running.as_mut().expect("started above");
            if let Err(e) = write_request(&mut running.stdin, &header, bytes) {
                let how = self.reap();
                return Err(Failure::Died(format!("{how} ({e})")));
            }
        }
        let started = Instant::now();
        let wall = self.launch.limits.wall();
        let resident = self.launch.limits.resident_bytes();
        loop {
            let running = self.running.as_mut().expect("running");
            // Quick files answer within the first wait; only slow ones are watched.
            match running.replies.recv_timeout(Duration::from_millis(50)) {
                Ok(Ok(Some(reply))) => return Ok(reply),
                Ok(Ok(None)) | Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(Failure::Died(self.reap()));
                }
                Err(RecvTimeoutError::Timeout) => {
                    let rss = resident_memory(running.child.id()).unwrap_or(0);
                    if rss > resident {
                        self.kill();
                        return Err(Failure::TooMuchMemory(rss));
                    }
                    if started.elapsed() >= wall {
                        self.kill();
                        return Err(Failure::TimedOut(wall));
                    }
                }
            }
        }
    }

    fn kill(&mut self) {
        if let Some(mut r) = self.running.take() {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
    }

    /// Collects a worker that ended and says how it ended.
    fn reap(&mut self) -> String {
        match self.running.take() {
            Some(mut r) => {
                drop(r.stdin);
                // It has closed its output: it is gone or going.
                let deadline = Instant::now() + Duration::from_secs(2);
                loop {
                    match r.child.try_wait() {
                        Ok(Some(status)) => return describe(status),
                        Ok(None) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(10))
                        }
                        _ => {
                            let _ = r.child.kill();
                            return r
                                .child
                                .wait()
                                .map(describe)
                                .unwrap_or_else(|e| e.to_string());
                        }
                    }
                }
            }
            None => "no worker".to_string(),
        }
    }

    /// Ends the worker: it finishes when its input closes.
    pub(crate) fn stop(&mut self) {
        if let Some(mut r) = self.running.take() {
            drop(r.stdin);
            if !matches!(r.child.try_wait(), Ok(Some(_))) {
                std::thread::sleep(Duration::from_millis(20));
                let _ = r.child.kill();
            }
            let _ = r.child.wait();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How a worker ended, for the log.
fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(libc::SIGABRT) => "aborted (SIGABRT; a failed allocation aborts)".to_string(),
        Some(libc::SIGKILL) => "killed (SIGKILL)".to_string(),
        Some(libc::SIGXCPU) => "stopped by its CPU time limit (SIGXCPU)".to_string(),
        Some(libc::SIGSEGV) => "crashed (SIGSEGV)".to_string(),
        Some(s) => format!("ended by signal {s}"),
        None => format!("exited with {status}"),
    }
}

/// The rejection of a file its worker could not judge within the limits.
pub(crate) fn too_complex(name: &str, failure: &Failure, limits: WorkerLimits) -> Checked {
    tracing::warn!(file = name, reason = %failure, "file refused: it cannot be read within the limits");
    crate::check::file_problem(
        name,
        IssueCode::TooComplex,
        format!(
            "文件读取时超出了处理上限（{}秒、{}MB内存），无法受理。文件中可能有大量隐藏的内容或异常的结构。请在Excel或WPS中新建一份标准绩效表，只把填报内容复制进去，另存为.xlsx格式后重新放入本部门文件夹",
            limits.seconds, limits.memory_mb
        ),
    )
}

/// What a worker is asked to do with the bytes that follow.
#[derive(Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
enum Request {
    /// Read and check the file.
    Check { name: String },
    /// Write the annotated workbook of a returned form.
    Annotate {
        name: String,
        form: Box<RawForm>,
        errors: Vec<Issue>,
    },
}

/// A worker's reply: the check, with the form as read.
#[derive(Serialize, Deserialize)]
struct Reply {
    result: CheckResult,
    form: Option<Box<RawForm>>,
}

/// The largest request header: a form's JSON is a few tens of KB.
const MAX_HEADER: u64 = 64 * 1024 * 1024;
/// The largest reply: a form's JSON is a few tens of KB.
const MAX_REPLY: u64 = 512 * 1024 * 1024;

fn write_request(w: &mut impl Write, header: &[u8], bytes: &[u8]) -> io::Result<()> {
    w.write_all(&(header.len() as u64).to_le_bytes())?;
    w.write_all(header)?;
    w.write_all(&(bytes.len() as u64).to_le_bytes())?;
    w.write_all(bytes)?;
    w.flush()
}

/// One length-prefixed frame; `None` at the end of the input.
fn read_frame(r: &mut impl Read, max: u64) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 8];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u64::from_le_bytes(len);
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes (at most {max})"),
        ));
    }
    let mut buf = Vec::with_capacity(len as usize);
    r.take(len).read_to_end(&mut buf)?;
    if buf.len() as u64 != len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some(buf))
}

/// The resident memory of a process, from `/proc/PID/statm`.
fn resident_memory(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * page.max(4096) as u64)
}

/// The worker's side: `jixiao worker`. Reads requests until its input closes.
pub(crate) fn serve(checker: &Checker, limits: WorkerLimits, hooks: Hooks) -> anyhow::Result<()> {
    confine(limits)?;
    let mut input = BufReader::new(io::stdin().lock());
    let mut output = BufWriter::new(io::stdout().lock());
    let max_file = checker.limits.max_file_bytes + 1;
    loop {
        let Some(header) = read_frame(&mut input, MAX_HEADER)? else {
            return Ok(());
        };
        let request: Request = serde_json::from_slice(&header)?;
        drop(header);
        let Some(bytes) = read_frame(&mut input, max_file)? else {
            return Ok(());
        };
        cpu_budget(limits.seconds)?;
        let reply = match request {
            Request::Check { name } => {
                if hooks.worker_faults {
                    fault(&name);
                }
                let checked = checker.check_bytes(&name, &bytes);
                drop(bytes);
                serde_json::to_vec(&Reply {
                    result: checked.result,
                    form: checked.form,
                })?
            }
            Request::Annotate { name, form, errors } => {
                if let Some(faulty) = name
                    .strip_prefix("annotate-")
                    .filter(|_| hooks.worker_faults)
                {
                    fault(faulty);
                }
                crate::letters::templates::annotate_or_log(&form, &errors, &bytes, &name)
                    .unwrap_or_default()
            }
        };
        output.write_all(&(reply.len() as u64).to_le_bytes())?;
        output.write_all(&reply)?;
        output.flush()?;
    }
}

/// The isolation tests' stand-ins for unknown bad files (`Hooks::worker_faults`): a file
/// named `fault-…` fails its check, one named `annotate-fault-…` its annotated workbook.
fn fault(name: &str) {
    if name.starts_with("fault-abort") {
        std::process::abort();
    }
    if name.starts_with("fault-hang") {
        // Busy, as a reader caught in a loop: the CPU limit or the wall time stops it.
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
    if name.starts_with("fault-memory") {
        // Grows a page at a time, as a reader filling a table: the daemon's watch on resident
        // memory (or the address-space limit) stops it.
        let mut held: Vec<Vec<u8>> = Vec::new();
        loop {
            held.push(vec![1u8; 1024 * 1024]);
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

/// The worker's hard limits: its address space, no core files, and death with its daemon.
fn confine(limits: WorkerLimits) -> io::Result<()> {
    set_limit(libc::RLIMIT_AS, limits.address_space_bytes())?;
    set_limit(libc::RLIMIT_CORE, 0)?;
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number and has no other effect.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } == 1 {
        // The daemon died before the line above took effect.
        std::process::exit(0);
    }
    Ok(())
}

/// Allows `seconds` more of CPU time from now: past it the kernel stops the worker (SIGXCPU).
fn cpu_budget(seconds: u64) -> io::Result<()> {
    // SAFETY: getrusage writes into the struct it is given.
    let used = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Err(io::Error::last_os_error());
        }
        (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + 1) as u64
    };
    let soft = used + seconds.max(1);
    // SAFETY: a plain read of the current limits into a local struct.
    let hard = unsafe {
        let mut current: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_CPU, &mut current);
        current.rlim_max
    };
    let limit = libc::rlimit {
        rlim_cur: soft.min(hard),
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_CPU, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: setrlimit reads the struct it is given.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_back() {
        let mut buf = Vec::new();
        write_request(&mut buf, "表.xlsx".as_bytes(), b"PK\x03\x04").unwrap();
        let mut r = buf.as_slice();
        assert_eq!(
            read_frame(&mut r, MAX_HEADER).unwrap().unwrap(),
            "表.xlsx".as_bytes()
        );
        assert_eq!(read_frame(&mut r, 100).unwrap().unwrap(), b"PK\x03\x04");
        assert!(read_frame(&mut r, 100).unwrap().is_none());
    }

    #[test]
    fn an_oversized_frame_is_refused_before_it_is_allocated() {
        let mut r: &[u8] = &u64::MAX.to_le_bytes();
        assert!(read_frame(&mut r, 1024).is_err());
    }

    #[test]
    fn a_truncated_frame_is_an_error() {
        let mut buf = (10u64).to_le_bytes().to_vec();
        buf.extend_from_slice(b"abc");
        let mut r = buf.as_slice();
        assert!(read_frame(&mut r, 1024).is_err());
    }
}
