//! `validate --checkpoint FILE`: the file read before the run (bounded, parsed, checked to fit
//! the run) and written after it, replaced whole so a run cut off midway leaves the old one.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use trailcheck_core::checkpoint::{self, Checkpoint};
use trailcheck_core::engine::Settings;
use trailcheck_core::error::ConfigError;
use trailcheck_core::hash::Sha256;
use trailcheck_core::verdict::{CheckpointUse, Report};

const OPTION: &str = "--checkpoint";

fn refused(path: &Path, why: impl std::fmt::Display) -> ConfigError {
    ConfigError::Option {
        option: OPTION,
        why: format!("{}: {why}", path.display()),
    }
}

/// Refuses a checkpoint file inside a local source: trailcheck never writes to what it
/// validates, and a file there would be judged as part of the archive.
pub fn check_outside(path: &Path, source: Option<&Path>) -> Result<(), ConfigError> {
    crate::config::check_output(OPTION, Some(path))?;
    let Some(source) = source else { return Ok(()) };
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let (Ok(folder), Ok(source)) = (folder.canonicalize(), source.canonicalize()) else {
        return Ok(());
    };
    if folder.starts_with(&source) {
        return Err(refused(
            path,
            format!(
                "it lies inside the source {}; trailcheck never writes to what it validates: \
                 keep the checkpoint outside it",
                source.display()
            ),
        ));
    }
    Ok(())
}

/// Reads FILE when it exists, and checks it belongs to this run over `source`; `None` when
/// there is no file yet (the first run, which validates the whole range).
pub fn read(
    path: &Path,
    source: &str,
    settings: &Settings,
) -> Result<Option<(Checkpoint, CheckpointUse)>, ConfigError> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(refused(path, format!("cannot read it: {e}"))),
    };
    let mut bytes = Vec::new();
    file.take(checkpoint::MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| refused(path, format!("cannot read it: {e}")))?;
    let parsed = Checkpoint::parse(&bytes).map_err(|why| {
        refused(
            path,
            format!("{why}; remove it for a full run, or name the file an earlier run wrote"),
        )
    })?;
    let trail = settings.trail.as_ref();
    parsed
        .check_fits(source, settings.end, settings.shard, |chain| {
            trail.is_none_or(|t| t.selects(chain))
        })
        .map_err(|why| refused(path, why))?;
    let used = CheckpointUse {
        file: path.display().to_string(),
        sha256: Sha256::of(&bytes),
        anchored: parsed.chains.values().filter(|a| a.is_some()).count(),
    };
    Ok(Some((parsed, used)))
}

/// Writes the checkpoint after `report`: to a file beside FILE, then renamed over it.
pub fn write(path: &Path, old: Option<&Checkpoint>, report: &Report) -> Result<(), ConfigError> {
    let next = (old.cloned().unwrap_or_default().advance(report))
        .map_err(|e| refused(path, format!("cannot read back the run's files: {e}")))?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    let partial: PathBuf = path.with_file_name(name);
    let written = fs::File::create(&partial)
        .and_then(|mut f| {
            f.write_all(next.to_json().as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| fs::rename(&partial, path));
    written.map_err(|e| {
        let _ = fs::remove_file(&partial);
        refused(
            path,
            format!("cannot write it: {e}. Choose a path in a folder that is writable."),
        )
    })
}
