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
    match jixiao::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("jixiao: {e:#}");
            std::process::exit(2);
        }
    }
}
