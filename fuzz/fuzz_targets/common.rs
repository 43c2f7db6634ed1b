//! What `jixiao check` does with one file: check it, then write the result both ways.
//!
//! A panic that `check_bytes` catches itself (it turns a reader library's panic into a
//! `damaged_file` rejection) is not a failure of `check`; only a panic that escapes it is. Set
//! `JIXIAO_FUZZ_STRICT=1` to count every panic, caught or not (libfuzzer-sys's own hook, which
//! aborts at once): that hunts the reader libraries' bugs.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Once, OnceLock};

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn checker() -> &'static jixiao::Checker {
    static CHECKER: OnceLock<jixiao::Checker> = OnceLock::new();
    CHECKER.get_or_init(|| {
        jixiao::Checker::new(jixiao::Definitions::embedded(), jixiao::Limits::default())
    })
}

fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        if std::env::var_os("JIXIAO_FUZZ_STRICT").is_some_and(|v| v != "0") {
            return;
        }
        // Replaces libfuzzer-sys's abort-on-any-panic hook: remember the panic, decide after.
        std::panic::set_hook(Box::new(|info| {
            let bt = std::backtrace::Backtrace::force_capture();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{info}\n{bt}")));
        }));
    });
}

pub fn check(bytes: &[u8]) {
    install_hook();
    LAST_PANIC.with(|p| p.borrow_mut().take());
    let run = catch_unwind(AssertUnwindSafe(|| {
        let checked = checker().check_bytes("fuzz.xlsx", bytes);
        let mut out = Vec::new();
        serde_json::to_writer(&mut out, &checked.result).expect("result serialises");
        jixiao::cli::write_human(&mut out, &checked.result).expect("result writes");
    }));
    if run.is_err() {
        let what = LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_default();
        eprintln!("\n`check` panicked (the panic escaped check_bytes):\n{what}");
        std::process::abort();
    }
}
