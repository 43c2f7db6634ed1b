//! Who serves the console: `jixiao serve` beside a daemon never takes a file; a daemon whose
//! console address is taken still handles forms.

mod web_support;

use std::time::Duration;

use web_support::Setup;

#[test]
fn serve_alone_never_takes_a_file() {
    let setup = Setup::new();
    let server = setup.serve();
    let dropped = setup.drop_form(
        "examples/农业农村厅-绩效目标申报表.xlsx",
        "农业农村厅",
        "申报表.xlsx",
    );
    // Longer than the example's stable_ms (2 s) and a rescan tick: a daemon would have taken it.
    std::thread::sleep(Duration::from_secs(4));
    assert!(dropped.exists(), "the console moved a department's file");
    let n: i64 = setup
        .db()
        .query_row("SELECT COUNT(*) FROM submissions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
    // The daemon, started beside it on the same state, takes it once.
    setup.process();
    assert!(!dropped.exists());
    let n: i64 = setup
        .db()
        .query_row("SELECT COUNT(*) FROM submissions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(server.login("查看员").get("/audit").status, 200);
}

#[test]
fn a_daemon_whose_console_address_is_taken_still_handles_forms() {
    let setup = Setup::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    setup.edit_config(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    let mut child = std::process::Command::new(web_support::BIN)
        .arg("watch")
        .current_dir(setup.root())
        .env("JIXIAO_LOG_STYLE", "plain")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let keep = lines.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            keep.lock().unwrap().push(l);
        }
    });
    let dropped = setup.drop_form(
        "examples/农业农村厅-绩效目标申报表.xlsx",
        "农业农村厅",
        "申报表.xlsx",
    );
    let start = std::time::Instant::now();
    while dropped.exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(!dropped.exists(), "the daemon did not take the form");
    let log = lines.lock().unwrap().join("\n");
    assert!(
        log.contains("the web console is not served; forms are still handled")
            && log.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{log}"
    );
    drop(taken);
}
