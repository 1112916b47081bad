//! Output directories that are all or nothing.
//!
//! A command that writes a directory (`run --out`, `sweep --out`, `merge --out`) writes every
//! file into a *staging* directory beside the target, `.<name>.spillway-tmp-<pid>-<n>`, and
//! only when all of them are written (and synced) puts it in place in one step:
//!
//! - a new target: one `rename`;
//! - an existing target: an atomic exchange of the two directories (`renameat2` with
//!   `RENAME_EXCHANGE` on Linux; elsewhere the old one is renamed aside first, so the target is
//!   briefly absent but never mixed), then the old directory is removed.
//!
//! So a reader of the target sees the previous complete output or the new complete output,
//! never a mix, whatever happens to the process (error, Ctrl-C, SIGKILL, a full disk).
//!
//! An existing target must hold only Spillway's own outputs ([`is_own_file`]) and
//! subdirectories that are themselves Spillway output directories (a sweep kept inside a run's
//! directory, as in `results/`): its files are replaced as a whole (a file the new output does
//! not have is gone), its subdirectories are carried over into the new one. Anything else in
//! it (a file Spillway does not write, an unrelated subdirectory) makes the command refuse
//! before it runs, naming the entries: Spillway never deletes what it did not write.
//!
//! A staging directory is removed when the command fails or is interrupted (the value is
//! dropped). One left behind by a killed process is removed by the next command that writes
//! the same target, once that process is gone; a subdirectory found in it (carried over when
//! the kill came between the exchange and the carry-over) is first put back into the target.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::error::{Error, Result};

/// Spillway's own output files, by exact name.
const OWN_FILES: [&str; 12] = [
    "summary.json",
    "summary.md",
    "report.html",
    "sweep.json",
    "sweep.csv",
    "models.toml",
    "calibration.json",
    "calibration.md",
    "calibration.html",
    "compare.json",
    "compare.md",
    "compare.html",
];

/// Spillway's own output files, by prefix and suffix (`timeseries-<variant>.csv`).
const OWN_PATTERNS: [(&str, &str); 2] = [("timeseries-", ".csv"), ("requests-", ".csv")];

/// The marker in the names of staging directories.
const STAGING: &str = ".spillway-tmp-";

/// Whether a file name is one Spillway writes into an output directory (or a temporary file
/// an older Spillway left beside one: `summary.json.<pid>.tmp`).
pub fn is_own_file(name: &str) -> bool {
    let own = |n: &str| {
        OWN_FILES.contains(&n)
            || OWN_PATTERNS
                .iter()
                .any(|(p, s)| n.len() > p.len() + s.len() && n.starts_with(p) && n.ends_with(s))
    };
    if own(name) {
        return true;
    }
    // `<own>.<pid>.tmp`, from `write_atomic` or a request CSV of a killed run.
    name.strip_suffix(".tmp")
        .and_then(|n| n.rsplit_once('.'))
        .is_some_and(|(n, pid)| {
            !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) && own(n)
        })
}

/// Whether `dir` is a Spillway output directory: it holds `summary.json`, `sweep.json`,
/// `calibration.json` (calibrate) or `compare.json` (compare).
fn is_output_dir(dir: &Path) -> bool {
    [
        "summary.json",
        "sweep.json",
        "calibration.json",
        "compare.json",
    ]
    .iter()
    .any(|f| dir.join(f).is_file())
}

/// An output directory being written: files go to [`OutDir::path`] (the staging directory)
/// and appear at the target together on [`OutDir::commit`]. Dropped without a commit, it
/// removes the staging directory.
#[derive(Debug)]
pub struct OutDir {
    /// The target, as the user wrote it (for messages).
    shown: String,
    /// The target, with symbolic links resolved when it exists.
    target: PathBuf,
    staging: PathBuf,
    done: bool,
}

impl OutDir {
    /// Checks `target` (given with `flag`, for messages), creates its missing parents, removes
    /// the staging directories of killed processes beside it, and creates a staging
    /// directory. Every refusal is one line saying what is wrong with the path.
    pub fn prepare(flag: &str, target: &Path) -> Result<OutDir> {
        let shown = target.display().to_string();
        let bad = |what: String| Error::Usage(format!("{flag} {shown}: {what}"));
        if target.as_os_str().is_empty() {
            return Err(bad("an empty path; give a directory".into()));
        }
        check_ancestors(target).map_err(&bad)?;
        let target = resolve(target).map_err(&bad)?;
        let Some(name) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return Err(bad(
                "names no directory of its own (a root or '..'); give a directory such as out/run1"
                    .into(),
            ));
        };
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if target.is_dir() {
            check_existing(&target).map_err(&bad)?;
        } else if let Err(e) = std::fs::create_dir_all(&parent) {
            return Err(bad(format!(
                "cannot create the directory {}: {}",
                parent.display(),
                io_words(&e)
            )));
        }
        clean_stale(&parent, &name, &target);
        let staging = parent.join(format!(
            ".{name}{STAGING}{}-{}",
            std::process::id(),
            next_serial()
        ));
        std::fs::create_dir(&staging).map_err(|e| {
            bad(format!(
                "cannot write in {}: {} (the output is written beside the target first, then renamed into place)",
                parent.display(),
                io_words(&e)
            ))
        })?;
        step("staging directory created");
        Ok(OutDir {
            shown,
            target,
            staging,
            done: false,
        })
    }

    /// Where to write the files: the staging directory.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The target, as the user wrote it.
    pub fn target(&self) -> &str {
        &self.shown
    }

    /// Writes one file of the output (`name` inside the staging directory), synced to disk.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.staging.join(name);
        let res = (|| {
            use std::io::Write;
            let mut f = std::fs::File::create(&path)?;
            f.write_all(bytes)?;
            f.sync_all()
        })();
        res.map_err(|e| {
            Error::Usage(format!(
                "{}/{name}: cannot write: {}",
                self.shown,
                io_words(&e)
            ))
        })?;
        step(name);
        Ok(())
    }

    /// Puts the output in place (see the module's docs). Refused, with nothing changed at the
    /// target, when `interrupt` is set.
    pub fn commit(mut self, interrupt: Option<&AtomicBool>) -> Result<()> {
        if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
            return Err(Error::Interrupted);
        }
        let io = |e: std::io::Error| {
            Error::Usage(format!(
                "{}: cannot put the output in place: {}",
                self.shown,
                io_words(&e)
            ))
        };
        sync_dir(&self.staging);
        if !self.target.exists() {
            std::fs::rename(&self.staging, &self.target).map_err(io)?;
            self.done = true;
            step("renamed into place");
        } else {
            // The target may have changed since it was checked.
            check_existing(&self.target)
                .map_err(|m| Error::Usage(format!("{}: {m}", self.shown)))?;
            let old = self.swap().map_err(io)?;
            self.done = true;
            step("exchanged with the previous output");
            carry_over(&old, &self.target);
            step("subdirectories carried over");
            let _ = std::fs::remove_dir_all(&old);
        }
        if let Some(p) = self.target.parent() {
            sync_dir(p);
        }
        Ok(())
    }

    /// Exchanges the staging directory with the existing target; returns where the previous
    /// output now is.
    fn swap(&self) -> std::io::Result<PathBuf> {
        if exchange(&self.staging, &self.target)? {
            return Ok(self.staging.clone());
        }
        // No atomic exchange here: the old output goes aside first (the target is absent for
        // a moment, never mixed).
        let mut aside = self.staging.clone().into_os_string();
        aside.push("-old");
        let aside = PathBuf::from(aside);
        std::fs::rename(&self.target, &aside)?;
        if let Err(e) = std::fs::rename(&self.staging, &self.target) {
            let _ = std::fs::rename(&aside, &self.target);
            return Err(e);
        }
        Ok(aside)
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// The first existing ancestor of `target` must be a directory (`/etc/passwd/x`: no).
fn check_ancestors(target: &Path) -> std::result::Result<(), String> {
    for a in target.ancestors().skip(1) {
        if a.as_os_str().is_empty() {
            break;
        }
        match std::fs::metadata(a) {
            Ok(m) if m.is_dir() => return Ok(()),
            Ok(_) => {
                return Err(format!(
                    "{} is a file, not a directory, so nothing can be created under it",
                    a.display()
                ));
            }
            Err(_) => continue,
        }
    }
    Ok(())
}

/// `target` with symbolic links resolved when it exists; what is wrong when it is not a
/// directory.
fn resolve(target: &Path) -> std::result::Result<PathBuf, String> {
    match std::fs::symlink_metadata(target) {
        Err(_) => Ok(target.to_path_buf()),
        Ok(m) => {
            let real = if m.file_type().is_symlink() {
                std::fs::canonicalize(target).map_err(|_| {
                    "is a symbolic link to nothing; remove it or give another directory".to_string()
                })?
            } else {
                target.to_path_buf()
            };
            if real.is_dir() {
                // `.` and `x/..` have no name of their own: name them.
                if real.file_name().is_none() {
                    return std::fs::canonicalize(&real).map_err(|e| io_words(&e));
                }
                Ok(real)
            } else {
                Err("is a file, not a directory; --out names a directory (created if missing) that will hold the output files".into())
            }
        }
    }
}

/// An existing target may be replaced: it is writable and holds only Spillway's outputs and
/// Spillway output subdirectories.
fn check_existing(dir: &Path) -> std::result::Result<(), String> {
    if !writable(dir) {
        return Err("is not writable (permission denied)".into());
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot be read: {}", io_words(&e)))?;
    let mut foreign = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        let ok = match e.file_type() {
            Ok(t) if t.is_dir() => is_output_dir(&path),
            Ok(t) if t.is_file() => is_own_file(&name),
            _ => false,
        };
        if !ok {
            foreign.push(if path.is_dir() {
                format!("{name}/")
            } else {
                name
            });
        }
    }
    if foreign.is_empty() {
        return Ok(());
    }
    foreign.sort();
    let more = foreign.len().saturating_sub(3);
    foreign.truncate(3);
    Err(format!(
        "holds {}{} that Spillway did not write; the output replaces the directory as a whole, so give a new or empty directory, or one holding only Spillway's outputs",
        foreign.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    ))
}

/// Removes the staging directories that killed processes left beside `target` (named
/// `.<name>.spillway-tmp-<pid>-<n>`, of a process that is gone), first putting back into the
/// target any subdirectory found in one.
fn clean_stale(parent: &Path, name: &str, target: &Path) {
    let prefix = format!(".{name}{STAGING}");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_none_or(alive) {
            continue;
        }
        let stale = e.path();
        if target.is_dir() {
            carry_over(&stale, target);
        }
        let _ = std::fs::remove_dir_all(&stale);
    }
}

/// Moves the subdirectories of `from` into `to`, where `to` has no entry of that name.
fn carry_over(from: &Path, to: &Path) {
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            let dest = to.join(e.file_name());
            if std::fs::symlink_metadata(&dest).is_err() {
                let _ = std::fs::rename(e.path(), dest);
            }
        }
    }
}

/// Whether process `pid` still runs.
#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether process `pid` still runs (unknown here: assume it does, never remove).
#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    true
}

/// Whether the current user may create and remove files in `dir`.
#[cfg(unix)]
fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path; access only reads it.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

#[cfg(not(unix))]
fn writable(dir: &Path) -> bool {
    std::fs::metadata(dir).is_ok_and(|m| !m.permissions().readonly())
}

/// Atomically exchanges two directories; `Ok(false)` when the system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::os::unix::ffi::OsStrExt;
    let c =
        |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: valid NUL-terminated paths relative to the working directory.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => Ok(false),
        _ => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// Flushes a directory's entries to disk (best effort).
fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

fn next_serial() -> usize {
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// What an I/O error says about a path, in words (no `os error N`).
pub fn io_words(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::ReadOnlyFilesystem => "the file system is read-only".into(),
        ErrorKind::NotADirectory => "a part of the path is a file, not a directory".into(),
        ErrorKind::IsADirectory => "is a directory".into(),
        ErrorKind::AlreadyExists => "already exists".into(),
        ErrorKind::NotFound => "a part of the path does not exist".into(),
        ErrorKind::StorageFull => "no space left on the device".into(),
        ErrorKind::QuotaExceeded => "disk quota exceeded".into(),
        ErrorKind::ResourceBusy => "in use (a mount point?)".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// Environment variable of the kill test: the process kills itself (SIGKILL) at the N-th
/// write step of an output directory, as if killed from outside at that moment.
pub const KILL_AT_STEP_ENV: &str = "SPILLWAY_TEST_KILL_AT_WRITE_STEP";

/// Environment variable of the kill test: print each write step on stderr
/// (`spillway: write step N: WHAT`).
pub const TRACE_STEPS_ENV: &str = "SPILLWAY_TEST_TRACE_WRITE_STEPS";

/// Marks one write step of an output directory (test hooks: [`KILL_AT_STEP_ENV`],
/// [`TRACE_STEPS_ENV`]).
pub fn step(what: &str) {
    static N: AtomicU64 = AtomicU64::new(0);
    static HOOK: std::sync::OnceLock<(Option<u64>, bool)> = std::sync::OnceLock::new();
    let (kill_at, trace) = *HOOK.get_or_init(|| {
        (
            std::env::var(KILL_AT_STEP_ENV)
                .ok()
                .and_then(|v| v.parse().ok()),
            std::env::var_os(TRACE_STEPS_ENV).is_some(),
        )
    });
    if kill_at.is_none() && !trace {
        return;
    }
    let n = N.fetch_add(1, Ordering::SeqCst) + 1;
    if trace {
        eprintln!("spillway: write step {n}: {what}");
    }
    if kill_at == Some(n) {
        kill_self();
    }
}

#[cfg(unix)]
fn kill_self() {
    // SAFETY: sends SIGKILL to this process: no destructor runs, as with a kill from outside.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill_self() {
    std::process::abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_files_are_known_by_name() {
        for n in [
            "summary.json",
            "sweep.csv",
            "report.html",
            "timeseries-a_b.csv",
            "requests-x.csv",
            "requests-x.csv.1234.tmp",
            "summary.json.7.tmp",
        ] {
            assert!(is_own_file(n), "{n}");
        }
        for n in [
            "notes.txt",
            "timeseries-.csv",
            "s.toml",
            "summary.json.tmp",
            "x.csv.12.tmp",
            ".summary.json",
        ] {
            assert!(!is_own_file(n), "{n}");
        }
    }

    #[test]
    fn io_errors_in_words() {
        let e = std::io::Error::from(ErrorKind::PermissionDenied);
        assert_eq!(io_words(&e), "permission denied");
        let e = std::io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(io_words(&e), "no space left on the device");
        let e = std::io::Error::from_raw_os_error(libc::EROFS);
        assert_eq!(io_words(&e), "the file system is read-only");
        let e = std::io::Error::from_raw_os_error(libc::ELOOP);
        assert!(!io_words(&e).contains("os error"), "{}", io_words(&e));
    }
}
