//! Embeds every built-in macro file under src/jinja/builtins/ into the binary, so adding a macro
//! file needs no Rust change.
use std::fmt::Write;

fn main() {
    let dir = std::path::Path::new("src/jinja/builtins");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "sql"));
    files.sort();
    let mut out = String::from("&[\n");
    for p in files {
        println!("cargo:rerun-if-changed={}", p.display());
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Relative to the crate, not an absolute path: a target directory reused by a checkout
        // in another folder (CI's fresh clones) must not read the old checkout's files.
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/src/jinja/builtins/{name}\"))),"
        );
    }
    out.push(']');
    let target = std::path::Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()))
        .join("builtins.rs");
    if let Err(e) = std::fs::write(&target, out) {
        panic!("cannot write {}: {e}", target.display());
    }
    embed_kiln_package();
}

/// The `kiln` package (packages/kiln: dbt_project.yml and its macros), embedded so kiln can load
/// it when no package of that name is installed.
fn embed_kiln_package() {
    let dir = std::path::Path::new("packages/kiln");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = vec!["dbt_project.yml".to_string()];
    let macros = dir.join("macros");
    println!("cargo:rerun-if-changed={}", macros.display());
    let mut found: Vec<String> = std::fs::read_dir(&macros)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql"))
                .map(|n| format!("macros/{n}"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    files.extend(found);
    let mut out = String::from("&[\n");
    for f in files {
        println!("cargo:rerun-if-changed={}", dir.join(&f).display());
        let _ = writeln!(
            out,
            "    ({f:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/packages/kiln/{f}\"))),"
        );
    }
    out.push(']');
    let target = std::path::Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()))
        .join("kiln_package.rs");
    if let Err(e) = std::fs::write(&target, out) {
        panic!("cannot write {}: {e}", target.display());
    }
}
