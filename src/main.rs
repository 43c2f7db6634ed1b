use clap::Parser;

// Reading a form makes many small allocations; mimalloc serves them faster than the system
// allocator (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = jixiao::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("JIXIAO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
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
    match jixiao::cli::run(cli, runtime) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("jixiao: {e:#}");
            std::process::exit(2);
        }
    }
}
