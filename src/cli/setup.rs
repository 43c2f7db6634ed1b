//! Setting up a daemon's folders: `jixiao init`, and the example setup `jixiao watch` makes on a
//! fresh machine.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::{Config, EXAMPLE};
use crate::forms::definitions::{Definitions, FormKind};

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
        std::fs::create_dir_all(&templates)?;
        for kind in FormKind::ALL {
            crate::forms::blank::write_blank(defs, kind, &templates)?;
        }
    }
    std::fs::create_dir_all(&cfg.state_dir)?;
    std::fs::create_dir_all(&cfg.reports_dir)?;
    std::fs::create_dir_all(&cfg.decisions_dir)?;
    Ok(path)
}

/// The configuration `jixiao watch` uses: the one named, else `./jixiao.toml`, else an example
/// setup in `./jixiao-data` (created on first use).
pub(crate) fn config_for_watch(named: Option<&Path>, defs: &Definitions) -> anyhow::Result<Config> {
    if let Some(path) = named {
        return Config::load(path);
    }
    let here = Path::new("jixiao.toml");
    if here.exists() {
        return Config::load(here);
    }
    let example = Path::new("jixiao-data");
    let path = example.join("jixiao.toml");
    if !path.exists() {
        init(example, defs)?;
        eprintln!(
            "No jixiao.toml here: created an example setup in {} (edit {} for your departments).",
            example.display(),
            path.display()
        );
    }
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
