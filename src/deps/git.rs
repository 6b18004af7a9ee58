//! Git packages through the `git` command (as dbt does): a shallow clone of the revision asked
//! for (a tag or a branch), or a fetch of a full commit sha; a `subdirectory` is checked out
//! sparsely. The commit checked out is what the lock file records.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A revision that is a full commit sha (fetched as such, not as a branch or tag).
pub fn is_commit(revision: &str) -> bool {
    revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A checked-out package.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// The package inside it (the clone, or its subdirectory).
    pub package_dir: PathBuf,
    /// The commit checked out.
    pub sha: String,
}

/// Why git failed, with its own words.
#[derive(Debug, Clone)]
pub struct GitError {
    pub message: String,
    pub not_installed: bool,
}

fn git(cwd: Option<&Path>, args: &[&str]) -> Result<String, GitError> {
    let mut cmd = Command::new("git");
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    // Never wait on a password prompt; a private repository takes its token in the URL.
    cmd.args(args)
        .env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null());
    let out = cmd.output().map_err(|e| GitError {
        message: format!("cannot run git: {e}"),
        not_installed: e.kind() == std::io::ErrorKind::NotFound,
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("Cloning into"))
            .collect();
        // git's own "fatal:" line says it best; its warnings before it only repeat it.
        let fatal: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with("fatal:"))
            .collect();
        let text = if fatal.is_empty() { lines } else { fatal }.join("\n");
        return Err(GitError {
            message: if text.is_empty() {
                format!("git {} failed ({})", args.join(" "), out.status)
            } else {
                text
            },
            not_installed: false,
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Checks out `revision` (HEAD when none) of `url` into the new folder `dest`.
pub fn checkout(
    url: &str,
    revision: Option<&str>,
    subdirectory: Option<&str>,
    dest: &Path,
) -> Result<Checkout, GitError> {
    let dest_s = dest.to_string_lossy().to_string();
    let revision = revision.filter(|r| *r != "HEAD");
    match revision {
        Some(sha) if is_commit(sha) => {
            git(None, &["init", "--quiet", &dest_s])?;
            git(Some(dest), &["remote", "add", "origin", url])?;
            git(
                Some(dest),
                &["fetch", "--quiet", "--depth", "1", "origin", sha],
            )?;
            git(Some(dest), &["checkout", "--quiet", "FETCH_HEAD"])?;
        }
        _ => {
            let mut args = vec!["clone", "--quiet", "--depth", "1"];
            if subdirectory.is_some() {
                args.extend(["--filter=blob:none", "--sparse"]);
            }
            if let Some(r) = revision {
                args.extend(["--branch", r]);
            }
            args.extend([url, &dest_s]);
            git(None, &args)?;
            if let Some(sub) = subdirectory {
                git(Some(dest), &["sparse-checkout", "set", sub])?;
            }
        }
    }
    let sha = git(Some(dest), &["rev-parse", "HEAD"])?;
    let package_dir = match subdirectory {
        Some(s) => dest.join(s),
        None => dest.to_path_buf(),
    };
    Ok(Checkout { package_dir, sha })
}
