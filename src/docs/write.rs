//! Writing the site's files into `target/`: on every core, each file only when its bytes
//! changed, and detail shards no longer part of the site removed.
//!
//! A file is left alone when it already holds exactly the bytes the site would write (its size
//! first, then its contents compared): when `target/` is kept between runs, a shard whose nodes
//! did not change keeps its modification time, so a server's or browser's cache of it and a
//! copy to static hosting (rsync) stay valid. Comparing the bytes themselves, rather than a
//! hash recorded beside the files, costs a read of what is there (from the page cache, at the
//! speed of memory) and cannot be fooled by a file edited or truncated by hand. No file is
//! fsynced: the site is rebuilt from the project whenever it is needed.

use crate::error::Error;
use rayon::prelude::*;
use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// What [`write_files`] and [`remove_stale`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteCounts {
    /// Files written (new, or with different bytes).
    pub written: usize,
    /// Files that already held these bytes and were left as they were.
    pub unchanged: usize,
    /// Files removed because the site no longer has them.
    pub removed: usize,
}

/// Writes `bytes` (secrets redacted, as every sink does: the pages show compiled SQL) to `path`
/// unless the file already holds exactly these bytes. Returns whether it wrote.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, Error> {
    let bytes = crate::events::secrets::scrub_bytes(bytes);
    let bytes = bytes.as_ref();
    if let Ok(meta) = std::fs::metadata(path)
        && meta.is_file()
        && meta.len() == bytes.len() as u64
        && holds(path, bytes)
    {
        return Ok(false);
    }
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))?;
    Ok(true)
}

/// Whether the file at `path` holds exactly `bytes`: read in small pieces compared as they
/// come, so checking a site of 90 MB does not allocate (and fault in) 90 MB.
fn holds(path: &Path, bytes: &[u8]) -> bool {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut piece = [0u8; 64 * 1024];
    let mut at = 0;
    loop {
        match file.read(&mut piece) {
            Ok(0) => return at == bytes.len(),
            Ok(n) => {
                if bytes.get(at..at + n) != Some(&piece[..n]) {
                    return false;
                }
                at += n;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// Writes every `(path, bytes)` on every core, skipping the files whose bytes are unchanged.
pub fn write_files<B: AsRef<[u8]> + Sync>(files: &[(PathBuf, B)]) -> Result<WriteCounts, Error> {
    let wrote: Vec<bool> = files
        .par_iter()
        .map(|(path, bytes)| write_if_changed(path, bytes.as_ref()))
        .collect::<Result<_, _>>()?;
    let written = wrote.iter().filter(|w| **w).count();
    Ok(WriteCounts {
        written,
        unchanged: wrote.len() - written,
        removed: 0,
    })
}

/// Removes every file in `dir` whose name is not in `keep` (the shards of an earlier, larger
/// project, or of nodes since deleted). Folders inside `dir` are left alone.
pub fn remove_stale(dir: &Path, keep: &HashSet<OsString>) -> Result<usize, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if keep.contains(&entry.file_name()) || entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        match std::fs::remove_file(&path) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn age(path: &Path) -> SystemTime {
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        std::fs::File::options()
            .write(true)
            .open(path)
            .and_then(|f| f.set_modified(old))
            .expect("set mtime");
        old
    }

    fn mtime(path: &Path) -> SystemTime {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .expect("mtime")
    }

    #[test]
    fn unchanged_files_are_not_rewritten_changed_ones_are() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("0.js");
        let b = dir.path().join("1.js");
        let files = vec![(a.clone(), b"one".to_vec()), (b.clone(), b"two".to_vec())];
        let first = write_files(&files).expect("write");
        assert_eq!((first.written, first.unchanged), (2, 0));
        let old_a = age(&a);
        let old_b = age(&b);
        // Same length, other bytes: rewritten; identical: left alone.
        let files = vec![(a.clone(), b"one".to_vec()), (b.clone(), b"TWO".to_vec())];
        let second = write_files(&files).expect("write");
        assert_eq!((second.written, second.unchanged), (1, 1));
        assert_eq!(mtime(&a), old_a);
        assert_ne!(mtime(&b), old_b);
        assert_eq!(std::fs::read(&b).expect("read"), b"TWO");
        // A file truncated by hand is written again.
        std::fs::write(&a, b"on").expect("truncate");
        assert!(write_if_changed(&a, b"one").expect("write"));
        assert_eq!(std::fs::read(&a).expect("read"), b"one");
        // Larger than one piece read for the comparison, and differing only in the last byte.
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        assert!(write_if_changed(&b, &big).expect("write"));
        assert!(!write_if_changed(&b, &big).expect("write"));
        let mut other = big.clone();
        if let Some(last) = other.last_mut() {
            *last ^= 1;
        }
        assert!(write_if_changed(&b, &other).expect("write"));
        assert_eq!(std::fs::read(&b).expect("read"), other);
    }

    #[test]
    fn files_the_site_no_longer_has_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["0.js", "1.js", "2.js"] {
            std::fs::write(dir.path().join(name), name).expect("write");
        }
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        let keep: HashSet<OsString> = ["0.js", "1.js"].into_iter().map(OsString::from).collect();
        assert_eq!(remove_stale(dir.path(), &keep).expect("remove"), 1);
        assert!(dir.path().join("1.js").is_file());
        assert!(!dir.path().join("2.js").exists());
        assert!(dir.path().join("sub").is_dir());
        assert_eq!(
            remove_stale(&dir.path().join("missing"), &keep).expect("none"),
            0
        );
    }
}
