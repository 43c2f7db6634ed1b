//! What `jixiao check` does with one file: check it, then write the result both ways.

use std::sync::OnceLock;

fn checker() -> &'static jixiao::Checker {
    static CHECKER: OnceLock<jixiao::Checker> = OnceLock::new();
    CHECKER.get_or_init(|| {
        jixiao::Checker::new(jixiao::Definitions::embedded(), jixiao::Limits::default())
    })
}

pub fn check(bytes: &[u8]) {
    let checked = checker().check_bytes("fuzz.xlsx", bytes);
    let mut out = Vec::new();
    serde_json::to_writer(&mut out, &checked.result).expect("result serialises");
    jixiao::cli::write_human(&mut out, &checked.result).expect("result writes");
}
