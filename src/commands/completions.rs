//! `kiln completions <shell>`, and shell completion itself. The script that command prints hands
//! each completion request back to kiln (clap_complete's dynamic completion), so subcommands and
//! flags always match the binary, and `-s/--select` and `--exclude` complete the project's node
//! names.
//!
//! The node-name completer is attached here, to the clap command the binary completes with
//! ([`command`]), rather than in `crate::cli`: finding names needs the project's layout, which the
//! command-line layer below it must not know.
//!
//! Node names come from the file names under the project's model, seed, snapshot and analysis
//! paths (and the `{% snapshot %}` blocks): no Jinja is rendered, so a TAB stays instant on a
//! project of thousands of models.

use crate::cli::{Cli, CompletionShell};
use crate::error::{Diagnostic, Error, Outcome};
use clap::CommandFactory;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;

/// `kiln completions <shell>`: the script that registers kiln's dynamic completion with the
/// shell (the same as `COMPLETE=<shell> kiln` prints).
pub fn run(shell: CompletionShell) -> Result<Outcome, Error> {
    use clap_complete::env::EnvCompleter;
    let completer: &dyn EnvCompleter = match shell {
        CompletionShell::Bash => &clap_complete::env::Bash,
        CompletionShell::Zsh => &clap_complete::env::Zsh,
        CompletionShell::Fish => &clap_complete::env::Fish,
        CompletionShell::Powershell => &clap_complete::env::Powershell,
        CompletionShell::Elvish => &clap_complete::env::Elvish,
    };
    // The script calls this very binary back, so completion works without kiln on PATH.
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(String::from))
        .unwrap_or_else(|| "kiln".into());
    let mut script = vec![];
    completer
        .write_registration("COMPLETE", "kiln", "kiln", &exe, &mut script)
        .map_err(|e| {
            Error::one(Diagnostic::error(
                "completions",
                format!("cannot write the completion script: {e}"),
            ))
        })?;
    crate::events::print_raw(String::from_utf8_lossy(&script).trim_end());
    Ok(Outcome::Success)
}

/// kiln's clap command with the node-name completer on every `--select` and `--exclude`: what
/// the binary answers a shell's completion request with.
pub fn command() -> clap::Command {
    with_node_completers(Cli::command())
}

/// `cmd` and its subcommands, with [`select_values`] completing their `select` and `exclude`.
fn with_node_completers(mut cmd: clap::Command) -> clap::Command {
    for id in ["select", "exclude"] {
        if cmd.get_arguments().any(|a| a.get_id() == id) {
            cmd = cmd.mut_arg(id, |a| a.add(ArgValueCompleter::new(select_values)));
        }
    }
    let subcommands: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in subcommands {
        cmd = cmd.mut_subcommand(name, with_node_completers);
    }
    cmd
}

/// Selector methods offered while typing a method name (`tag:`, `path:`…).
const METHODS: &[&str] = &[
    "tag:",
    "path:",
    "source:",
    "resource_type:",
    "config.",
    "package:",
    "fqn:",
    "state:",
    "test_type:",
    "test_name:",
    "exposure:",
];

/// Candidates for the `--select` value being typed, for the project in `$DBT_PROJECT_DIR` or the
/// current directory (or the nearest parent with a dbt_project.yml).
pub fn select_values(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return vec![];
    };
    let dir = std::env::var_os("DBT_PROJECT_DIR").map(std::path::PathBuf::from);
    let Ok(dir) = crate::project::find_project_dir(dir.as_deref()) else {
        return vec![];
    };
    select_candidates(&node_names(&dir), current)
        .into_iter()
        .map(CompletionCandidate::new)
        .collect()
}

/// The completions of `current` among `names`: graph operators in front (`+`, `2+`, `@`) are
/// kept, and selector methods are offered alongside the names.
pub fn select_candidates(names: &BTreeSet<String>, current: &str) -> Vec<String> {
    let start = current
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '+' || *c == '@'))
        .map_or(current.len(), |(i, _)| i);
    let (prefix, word) = current.split_at(start);
    let mut out: Vec<String> = names
        .iter()
        .filter(|n| n.starts_with(word))
        .map(|n| format!("{prefix}{n}"))
        .collect();
    if prefix.is_empty() {
        out.extend(
            METHODS
                .iter()
                .filter(|m| m.starts_with(word))
                .map(|m| (*m).to_string()),
        );
    }
    out
}

/// The names of the project's models, seeds, snapshots and analyses.
pub fn node_names(dir: &Path) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let Ok(text) = std::fs::read_to_string(dir.join("dbt_project.yml")) else {
        return names;
    };
    let Ok(cfg) = crate::project::yaml::from_str::<crate::project::dbt_project::DbtProject>(
        Path::new("dbt_project.yml"),
        &text,
    ) else {
        return names;
    };
    let snapshot_block =
        regex::Regex::new(r"\{%-?\s*snapshot\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}").ok();
    let folders = [
        (cfg.model_paths(), &["sql", "py"][..]),
        (cfg.seed_paths(), &["csv"][..]),
        (cfg.analysis_paths(), &["sql"][..]),
    ];
    for (paths, exts) in folders {
        for path in paths {
            for file in files(&dir.join(path)) {
                let ext = file.extension().and_then(OsStr::to_str).unwrap_or("");
                if exts.contains(&ext)
                    && let Some(stem) = file.file_stem().and_then(OsStr::to_str)
                {
                    names.insert(stem.to_string());
                }
            }
        }
    }
    for path in cfg.snapshot_paths() {
        for file in files(&dir.join(path)) {
            if file.extension().and_then(OsStr::to_str) != Some("sql") {
                continue;
            }
            let (Ok(sql), Some(re)) = (std::fs::read_to_string(&file), &snapshot_block) else {
                continue;
            };
            names.extend(re.captures_iter(&sql).map(|c| c[1].to_string()));
        }
    }
    names
}

fn files(root: &Path) -> impl Iterator<Item = std::path::PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_operators_are_kept_and_methods_offered() {
        let names: BTreeSet<String> = ["stg_orders", "stg_customers", "orders"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(
            select_candidates(&names, "stg_c"),
            vec!["stg_customers".to_string()]
        );
        assert_eq!(
            select_candidates(&names, "2+stg_o"),
            vec!["2+stg_orders".to_string()]
        );
        assert_eq!(
            select_candidates(&names, "@or"),
            vec!["@orders".to_string()]
        );
        assert_eq!(select_candidates(&names, "ta"), vec!["tag:".to_string()]);
    }
}
