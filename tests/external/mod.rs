//! Tools outside Rust that some tests use (LibreOffice, poppler, openxml-audit). Under
//! `JIXIAO_EXTERNAL_TESTS=1` (set by `scripts/test.sh`) a missing tool fails the test; under plain
//! `cargo test` the test is skipped with a note. `scripts/install-test-tools.sh` installs them.

/// Whether `name` is on the PATH (panics under `JIXIAO_EXTERNAL_TESTS=1` when it is not).
pub fn tool(name: &str) -> bool {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("JIXIAO_EXTERNAL_TESTS").as_deref() == Ok("1") {
            panic!("{name} is not installed: run scripts/install-test-tools.sh");
        }
        eprintln!("note: {name} not installed, test skipped (scripts/install-test-tools.sh)");
    }
    found
}
