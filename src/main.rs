use clap::Parser;

// Reading a form makes many small allocations; mimalloc serves them faster than the system
// allocator (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = jixiao::cli::Cli::parse();
    // Colour on a terminal only (or as JIXIAO_LOG_STYLE says), and one event per line whatever
    // a logged file name holds.
    let style = std::env::var(jixiao::logging::STYLE_ENV).ok();
    let colour = match jixiao::logging::use_colour(
        style.as_deref(),
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("jixiao: {e}");
            std::process::exit(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("JIXIAO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(colour)
        .with_writer(move || jixiao::logging::LineWriter::new(std::io::stderr(), colour))
        .init();
    // A panic inside a reader library is caught and turned into a rejection of that file; log it
    // as one line instead of the default hook's message on standard error.
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(%info, "internal error (caught)");
    }));
    // The environment is read here once: the rehearsal day and the crash tests' hooks.
    let var = |k: &str| std::env::var(k).ok();
    let today = match var(jixiao::runtime::TODAY_ENV).map(|v| v.parse()) {
        None => None,
        Some(Ok(day)) => Some(day),
        Some(Err(e)) => {
            eprintln!(
                "jixiao: {}: {e} (write 2026-03-30)",
                jixiao::runtime::TODAY_ENV
            );
            std::process::exit(2);
        }
    };
    let mut runtime = jixiao::runtime::Runtime::system(today);
    runtime.hooks = jixiao::runtime::Hooks::from_vars(var);
    runtime.config_env = std::env::var_os(jixiao::runtime::CONFIG_ENV).map(Into::into);
    match jixiao::cli::run(cli, runtime) {
        Ok(code) => std::process::exit(code),
        // The reader of the output went away (`jixiao outbox | head`): nothing to say.
        Err(e) if jixiao::cli::is_stdout_closed(&e) => std::process::exit(0),
        Err(e) => {
            eprintln!("jixiao: {e:#}");
            std::process::exit(2);
        }
    }
}
