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
}
