//! `serve`: the newsroom's web page ([`crate::serve`]), and `serve --hash-password`.
//!
//! What this module must never do: print a password or keep it past the hash; print
//! anything on stdout before the `listening on` line but the hash (tests and scripts read it).

use crate::cli::commands::run::runtime;
use crate::cli::exit;
use crate::config::Config;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, Write};

pub(in crate::cli) fn serve(cfg: &Config, listen: Option<&str>) -> Result<i32> {
    let rt = runtime()?;
    rt.block_on(async {
        let server = crate::serve::bind(cfg, listen).await?;
        let addr = server.local_addr()?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on http://{addr}")?;
            out.flush()?;
        }
        tokio::select! {
            r = server.run() => r?,
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(exit::OK)
}

/// Read one password line from stdin and print its argon2 PHC string.
pub(in crate::cli) fn hash_password() -> Result<i32> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("serve --hash-password: cannot read stdin")?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        bail!("serve --hash-password: no password on stdin");
    }
    let hash = crate::serve::auth::hash_password(password)
        .map_err(|e| anyhow::anyhow!("serve --hash-password: {e}"))?;
    println!("{hash}");
    Ok(exit::OK)
}
