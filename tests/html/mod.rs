//! Headless Chromium for the evidence report: a screenshot to look at, the rendered DOM to check.
//!
//! Debian's `chromium` package; the network is closed, so every background fetch Chromium
//! would make on its own is turned off. Tests skip, saying so, where it is not installed;
//! `TRAILCHECK_TEST_CHROMIUM=PATH` (set by `scripts/test`) makes it required instead.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The browser binary: `TRAILCHECK_TEST_CHROMIUM` when set (it must exist), else `chromium`
/// on the `PATH`, else `None`.
pub fn chromium() -> Option<PathBuf> {
    if let Some(required) = std::env::var_os("TRAILCHECK_TEST_CHROMIUM") {
        let path = PathBuf::from(required);
        assert!(
            path.is_file(),
            "TRAILCHECK_TEST_CHROMIUM={} is not a file",
            path.display()
        );
        return Some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs headless Chromium on `html` with `action` (`--screenshot=...` or `--dump-dom`).
fn run(browser: &Path, html: &Path, action: &str) -> Output {
    let profile = tempfile::tempdir().expect("profile dir");
    let url = format!(
        "file://{}",
        html.canonicalize().expect("html path").display()
    );
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1400,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(action)
        .arg(url)
        .output()
        .expect("chromium runs")
}

/// Writes a PNG of the page as a 1400-pixel-wide window shows it.
pub fn screenshot(browser: &Path, html: &Path, png: &Path) {
    let output = run(browser, html, &format!("--screenshot={}", png.display()));
    assert!(
        png.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The DOM after Chromium parsed and laid out the page.
pub fn dump_dom(browser: &Path, html: &Path) -> String {
    let output = run(browser, html, "--dump-dom");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 DOM")
}
