//! `init`: write the commented default config where there is none, and create (or
//! migrate) the database it names.
//!
//! What this module must never do: overwrite a config that exists.

use crate::cli::exit;
use crate::cli::output::shown;
use crate::config::{Config, DEFAULT_CONFIG};
use crate::store::Store;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

pub(in crate::cli) fn init(path: Option<&Path>) -> Result<i32> {
    let path = path.unwrap_or(Path::new("config.toml"));
    let mut out = std::io::stdout().lock();
    if path.exists() {
        writeln!(out, "{} exists: left as it is", shown(path))?;
    } else {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create folder {}", dir.display()))?;
        }
        std::fs::write(path, DEFAULT_CONFIG)
            .with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(out, "wrote {}", shown(path))?;
    }
    let cfg = Config::load(path)?;
    let store = Store::open(&cfg.database.path)?;
    writeln!(
        out,
        "database {} ready (schema version {})",
        shown(store.path()),
        store.schema_version()?
    )?;
    Ok(exit::OK)
}
