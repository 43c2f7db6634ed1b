//! Setting up a daemon's folders: `jixiao init`, and the example setup `jixiao watch` makes on a
//! fresh machine.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::{Config, EXAMPLE};
use crate::forms::definitions::Definitions;

/// Writes an example setup into `dir`: `jixiao.toml`, one folder per department with the blank
/// forms, and the state folder. Returns the configuration's path. Never overwrites a config.
pub(crate) fn init(dir: &Path, defs: &Definitions) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("jixiao.toml");
    if path.exists() {
        anyhow::bail!("{} exists already; not overwriting it", path.display());
    }
    std::fs::write(&path, EXAMPLE).with_context(|| format!("writing {}", path.display()))?;
    let cfg = Config::load(&path)?;
    for d in &cfg.departments {
        let templates = cfg.root.join(&d.folder).join(&cfg.folders.templates);
        crate::forms::blank::ensure_blank_forms(defs, &templates)?;
    }
    std::fs::create_dir_all(&cfg.state_dir)?;
    std::fs::create_dir_all(&cfg.reports_dir)?;
    std::fs::create_dir_all(&cfg.decisions_dir)?;
    Ok(path)
}

/// The example setup's folder, made by the first `jixiao watch` where no configuration is found.
pub(crate) const EXAMPLE_DIR: &str = "jixiao-data";

/// Where a command's configuration was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) path: PathBuf,
    /// How it was found: `--config`, `JIXIAO_CONFIG`, or the file looked for in the folder.
    pub(crate) how: &'static str,
}

/// Finds the configuration of a command that needs one: `--config`, then `JIXIAO_CONFIG` (given
/// as `env`), then `./jixiao.toml`, then `./jixiao-data/jixiao.toml` (the example setup), each
/// relative to `here`. A named file is used even when missing (reading it then says so).
pub(crate) fn find_config(named: Option<&Path>, env: Option<&Path>, here: &Path) -> Option<Found> {
    if let Some(path) = named {
        return Some(Found {
            path: path.to_path_buf(),
            how: "--config",
        });
    }
    if let Some(path) = env.filter(|p| !p.as_os_str().is_empty()) {
        return Some(Found {
            path: path.to_path_buf(),
            how: "JIXIAO_CONFIG",
        });
    }
    for rel in ["jixiao.toml", "jixiao-data/jixiao.toml"] {
        if here.join(rel).is_file() {
            return Some(Found {
                path: Path::new(".").join(rel),
                how: "found in the current folder",
            });
        }
    }
    None
}

/// Says on standard error which configuration a command uses.
pub(crate) fn say_which(found: &Found) {
    eprintln!(
        "jixiao: using the configuration {} ({})",
        found.path.display(),
        found.how
    );
}

/// The configuration of `status`, `history`, `approve`, `consolidate` and `outbox`: found as
/// [`find_config`] says, and named on standard error.
pub(crate) fn load_found(named: Option<&Path>, env: Option<&Path>) -> anyhow::Result<Config> {
    let Some(found) = find_config(named, env, Path::new(".")) else {
        anyhow::bail!(
            "no configuration: give --config FILE, set JIXIAO_CONFIG, or run in a folder with \
             jixiao.toml or {EXAMPLE_DIR}/jixiao.toml (the first `jixiao watch` creates an example setup there)"
        );
    };
    say_which(&found);
    Config::load(&found.path)
}

/// The configuration `jixiao watch` uses: the one [`find_config`] finds, else an example setup
/// in `./jixiao-data`, created now.
pub(crate) fn config_for_watch(
    named: Option<&Path>,
    env: Option<&Path>,
    defs: &Definitions,
) -> anyhow::Result<Config> {
    if find_config(named, env, Path::new(".")).is_some() {
        return load_found(named, env);
    }
    let example = Path::new(".").join(EXAMPLE_DIR);
    let path = init(&example, defs)?;
    eprintln!(
        "No configuration found: created an example setup in {} (edit {} for your departments).",
        example.display(),
        path.display()
    );
    say_which(&Found {
        path: path.clone(),
        how: "the example setup",
    });
    Config::load(&path)
}

/// Tells the person starting the daemon where forms go and where answers appear.
pub(crate) fn print_where(cfg: &Config) {
    let d = &cfg.departments[0];
    let folder = cfg.root.join(&d.folder);
    eprintln!("jixiao is watching {}", cfg.root.display());
    eprintln!(
        "  put a form into a department's folder, e.g. {}/",
        folder.display()
    );
    eprintln!(
        "  blank forms are in {}/",
        folder.join(&cfg.folders.templates).display()
    );
    eprintln!(
        "  the answer appears in {}/ or {}/",
        folder.join(&cfg.folders.accepted).display(),
        folder.join(&cfg.folders.returned).display()
    );
    eprintln!("  state and archive: {}", cfg.state_dir.display());
}
