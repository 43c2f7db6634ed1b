//! The finance office's web console (网页控制台), in Chinese, served by jixiao itself: what came
//! in and what went out, approvals, sign-offs of held letters, the outbox, reminders, the summary
//! workbook, and a place to try a form out.
//!
//! How it is built: axum, pages rendered on the server from the templates in `web/templates`
//! (minijinja, HTML-escaped: whatever a department typed is shown as text), one stylesheet, no
//! JavaScript. The database work of a request runs on tokio's blocking threads with a
//! connection from a small pool; the console never reads an inbox or records a submission —
//! only the daemon's loop does — so the console cannot handle a file twice, whether the daemon
//! serves it (`[web] listen`) or `jixiao serve` does beside a running daemon.
//!
//! Who may do what: [`auth`] (accounts, sessions, CSRF tokens, login throttling); every change
//! made through the console is written to the audit log (`store::audit`).

pub(crate) mod auth;
pub(crate) mod charts;
pub(crate) mod page;
mod pages;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::response::IntoResponse;
use rusqlite::Connection;
use tracing::info;

use crate::config::{Config, WebSettings};
use crate::forms::definitions::Definitions;
use crate::letters::Letters;
use crate::runtime::Clock;

pub(crate) use page::WebError;

/// Everything a page needs: the configuration, the form definitions and letter templates the
/// service loaded, the clock, the database, and a worker process for 试一试.
pub(crate) struct App {
    pub(crate) cfg: Config,
    pub(crate) web: WebSettings,
    pub(crate) defs: Definitions,
    pub(crate) letters: Letters,
    pub(crate) clock: Arc<dyn Clock>,
    /// How a worker is started for 试一试: uploads are judged in a worker process, like any
    /// file the daemon takes.
    pub(crate) launch: crate::worker::Launch,
    pub(crate) worker: Mutex<Option<crate::worker::Worker>>,
    pool: Mutex<Vec<Connection>>,
    /// One per connection that may be open at once: more requests wait their turn rather than
    /// open more.
    slots: tokio::sync::Semaphore,
    pub(crate) templates: minijinja::Environment<'static>,
}

pub(crate) type Shared = Arc<App>;

/// The most connections kept open between requests, and open at once.
const POOL: usize = 8;

impl App {
    pub(crate) fn new(
        cfg: Config,
        defs: Definitions,
        letters: Letters,
        clock: Arc<dyn Clock>,
        launch: crate::worker::Launch,
    ) -> anyhow::Result<App> {
        let web = cfg.web.clone().unwrap_or_default();
        // Opened once here, so a database that cannot be opened is said at start.
        let conn = crate::store::open(&cfg.database())?;
        Ok(App {
            cfg,
            web,
            defs,
            letters,
            clock,
            launch,
            worker: Mutex::new(None),
            pool: Mutex::new(vec![conn]),
            slots: tokio::sync::Semaphore::new(POOL),
            templates: page::templates()?,
        })
    }

    /// The time now as stored: `2026-11-25T10:00:00.000+08:00`.
    pub(crate) fn now_text(&self) -> String {
        self.clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
    }

    /// Runs `f` with a database connection on a blocking thread; at most [`POOL`] at once.
    pub(crate) async fn db<T, F>(self: &Arc<Self>, f: F) -> Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&App, &mut Connection) -> Result<T, WebError> + Send + 'static,
    {
        let app = self.clone();
        let slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| WebError::Internal(e.into()))?;
        let out = tokio::task::spawn_blocking(move || {
            let pooled = app.pool.lock().map_err(|_| poisoned())?.pop();
            let mut conn = match pooled {
                Some(c) => c,
                None => crate::store::open(&app.cfg.database())
                    .map_err(|e| WebError::Internal(e.into()))?,
            };
            let out = f(&app, &mut conn);
            let mut pool = app.pool.lock().map_err(|_| poisoned())?;
            if pool.len() < POOL {
                pool.push(conn);
            }
            out
        })
        .await
        .map_err(|e| WebError::Internal(anyhow::anyhow!("a page's work stopped: {e}")))?;
        drop(slot);
        out
    }
}

fn poisoned() -> WebError {
    WebError::Internal(anyhow::anyhow!("the connection pool is poisoned"))
}

/// Every route of the console.
pub(crate) fn router(app: Shared) -> Router {
    Router::new()
        .merge(auth::routes())
        .merge(pages::routes())
        .route(
            "/static/jixiao.css",
            axum::routing::get(|| async {
                (
                    [
                        (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (axum::http::header::CACHE_CONTROL, "max-age=3600"),
                    ],
                    include_str!("static/jixiao.css"),
                )
            }),
        )
        .fallback(|| async { WebError::NotFound.into_response() })
        .layer(axum::middleware::map_response(page::security_headers))
        .with_state(app)
}

/// A running console: stops when dropped.
pub(crate) struct Console {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Console {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Binds the listen address (so a taken port is said at once) and serves the console on a
/// thread of its own until the returned [`Console`] is dropped or `stop` is set.
pub(crate) fn start(app: App, stop: Arc<AtomicBool>) -> anyhow::Result<Console> {
    let listen = app.web.listen.clone();
    let std_listener = std::net::TcpListener::bind(&listen).with_context(|| {
        format!("the web console cannot listen on {listen} ([web] listen in jixiao.toml)")
    })?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let stop_thread = stop.clone();
    let app = Arc::new(app);
    pages::warm(app.clone());
    let thread = std::thread::Builder::new()
        .name("console".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .thread_name("console")
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "the web console cannot start");
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(std_listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!(error = %e, "the web console cannot start");
                        return;
                    }
                };
                let service = router(app).into_make_service_with_connect_info::<SocketAddr>();
                let shutdown = async move {
                    while !stop_thread.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                };
                if let Err(e) = axum::serve(listener, service)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    tracing::error!(error = %e, "the web console stopped");
                }
            });
        })?;
    // Tests and operators wait for this line.
    info!(url = %format!("http://{addr}/"), "console: listening");
    Ok(Console {
        stop,
        thread: Some(thread),
    })
}
