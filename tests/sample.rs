//! The shipped sample: `simulate` still makes it byte for byte from the command the README
//! gives, and `validate` still finds exactly its five tamperings.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::trailcheck;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sample");
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/keys");

/// The README's command for the sample, writing to `out`.
fn make_sample(out: &Path) -> std::process::Output {
    let out = out.to_str().expect("utf-8 path");
    trailcheck(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[
            "simulate",
            out,
            "--hours",
            "6",
            "--regions",
            "us-east-1,eu-west-1",
            "--backfill",
            "--tamper",
            "modify-log",
            "--tamper",
            "delete-log@eu-west-1",
            "--tamper",
            "insert-log",
            "--tamper",
            "delete-digest@eu-west-1",
            "--tamper",
            "append-log",
        ],
    )
}

fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn visit(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                visit(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).expect("inside").to_owned();
                out.insert(relative, std::fs::read(&path).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    visit(root, root, &mut out);
    out
}

#[test]
fn shipped_sample_is_what_simulate_makes() {
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("sample");
    let made = make_sample(&out);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (shipped, fresh) = (files(Path::new(SAMPLE)), files(&out));
    assert_eq!(
        shipped.keys().collect::<Vec<_>>(),
        fresh.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &shipped {
        assert!(
            fresh[path] == *bytes,
            "{} differs: regenerate testdata/sample",
            path.display()
        );
    }
}

#[test]
fn shipped_sample_shows_its_tamperings() {
    let output = trailcheck(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["validate", SAMPLE, "--keys", KEYS, "--format", "json"],
    );
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let logs = &json["summary"]["logs"];
    let digests = &json["summary"]["digests"];
    assert_eq!(
        (logs["modified"].as_u64(), logs["deleted"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(logs["unreferenced"].as_u64(), Some(1));
    assert_eq!(digests["deleted"].as_u64(), Some(1));
    assert_eq!(json["summary"]["chain_breaks"].as_u64(), Some(1));
    assert_eq!(json["outcome"], "tampered");
}
