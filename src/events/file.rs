//! The log file, rotated as dbt's is (Python's `RotatingFileHandler` with `maxBytes` 10 MB and
//! `backupCount` 5): before a line would take the file to the limit, `dbt.log.4` becomes
//! `dbt.log.5`, …, `dbt.log` becomes `dbt.log.1`, and a new `dbt.log` starts.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// dbt's `--log-file-max-bytes` default.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// How many rotated files dbt keeps.
const BACKUPS: usize = 5;

pub struct RotatingFile {
    path: PathBuf,
    out: BufWriter<File>,
    size: u64,
    max_bytes: u64,
}

impl RotatingFile {
    /// Opens `path` for appending (creating its folder).
    pub fn open(path: &Path, max_bytes: u64) -> std::io::Result<RotatingFile> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(64 * 1024, file),
            size,
            max_bytes,
        })
    }

    /// Appends one line, rotating first when it would reach the limit.
    pub fn write_line(&mut self, line: &str) {
        let len = line.len() as u64 + 1;
        if self.max_bytes > 0 && self.size > 0 && self.size + len >= self.max_bytes {
            // Logging never fails a command: if rotation fails, keep appending.
            let _ = self.rotate();
        }
        if writeln!(self.out, "{line}").is_ok() {
            self.size += len;
        }
    }

    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }

    fn backup(&self, i: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{i}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        for i in (1..BACKUPS).rev() {
            let from = self.backup(i);
            if from.exists() {
                let to = self.backup(i + 1);
                let _ = std::fs::remove_file(&to);
                std::fs::rename(&from, &to)?;
            }
        }
        let first = self.backup(1);
        let _ = std::fs::remove_file(&first);
        std::fs::rename(&self.path, &first)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.out = BufWriter::with_capacity(64 * 1024, file);
        self.size = 0;
        Ok(())
    }
}

impl Drop for RotatingFile {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_before_the_limit_and_keeps_five_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dbt.log");
        let mut f = RotatingFile::open(&path, 100).unwrap();
        // 40 lines of 30 bytes: 3 lines fit under 100 bytes (90 + 30 >= 100 rotates).
        for i in 0..40 {
            f.write_line(&format!("{i:0>29}"));
        }
        f.flush();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap();
        assert_eq!(
            read(&path).lines().count(),
            1,
            "40 = 13 full files + 1 line"
        );
        assert_eq!(read(&path), format!("{:0>29}\n", 39));
        for i in 1..=5 {
            let text = read(&f.backup(i));
            assert_eq!(text.len(), 90, "dbt.log.{i}: {text}");
        }
        assert!(!f.backup(6).exists());
        // dbt.log.1 holds the lines just before the current file's.
        assert!(read(&f.backup(1)).ends_with(&format!("{:0>29}\n", 38)));
    }

    #[test]
    fn zero_means_no_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/dbt.log");
        let mut f = RotatingFile::open(&path, 0).unwrap();
        for _ in 0..100 {
            f.write_line("a line");
        }
        f.flush();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 100);
        assert!(!f.backup(1).exists());
    }
}
