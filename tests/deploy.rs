//! deploy/: the Kubernetes Indexed Job, the AWS Batch job definition and the IAM policy
//! against their schemas and linters, and their shard commands run locally with the
//! schedulers' index variables set (tests/deploy/check.py says how). Needs
//! `TRAILCHECK_TEST_PYTHON` with kubernetes-validate, cfn-lint and parliament (scripts/test
//! installs them); without it the test says so and passes.

use std::process::Command;

#[test]
fn manifests_are_valid_and_their_shard_commands_judge_every_file_once() {
    let Ok(python) = std::env::var("TRAILCHECK_TEST_PYTHON") else {
        eprintln!("skipping: TRAILCHECK_TEST_PYTHON is not set (scripts/test sets it)");
        return;
    };
    let work = tempfile::tempdir().expect("temp dir");
    let output = Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/deploy/check.py"
        ))
        .arg(env!("CARGO_BIN_EXE_trailcheck"))
        .arg(work.path())
        .output()
        .expect("check.py runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    for scheduler in ["kubernetes: 8 shards", "aws-batch: 8 shards"] {
        assert!(stdout.contains(scheduler), "{stdout}");
    }
    assert!(stdout.contains("judged once each"), "{stdout}");
    assert!(stdout.contains("shards from their checkpoints"), "{stdout}");
}
