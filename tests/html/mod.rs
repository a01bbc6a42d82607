//! Headless Chromium for the evidence report: a screenshot to look at, the rendered DOM to check.
//!
//! Debian's `chromium` package; the network is closed, so every background fetch Chromium
//! would make on its own is turned off. `TRAILCHECK_TEST_CHROMIUM=PATH` (set by `scripts/test`
//! when Chromium is installed) runs the browser tests and makes a missing browser a failure;
//! without it they skip, saying so, so a broken or absent browser never fails a plain
//! `cargo test`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use std::process::{Command, Output};

/// The browser binary: `TRAILCHECK_TEST_CHROMIUM` when set (it must exist), else `None`.
pub fn chromium() -> Option<PathBuf> {
    let required = std::env::var_os("TRAILCHECK_TEST_CHROMIUM")?;
    let path = PathBuf::from(required);
    assert!(
        path.is_file(),
        "TRAILCHECK_TEST_CHROMIUM={} is not a file",
        path.display()
    );
    Some(path)
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

/// One timeline cell as Chromium laid it out.
#[derive(Debug)]
pub struct Cell {
    pub class: String,
    /// The hover text, lines joined by `\n`.
    pub title: String,
    pub width: f64,
    pub height: f64,
    /// Its right edge, in CSS pixels from the page's left.
    pub right: f64,
    /// The computed background colour and image: what paints it.
    pub paint: String,
    pub visible: bool,
}

impl Cell {
    /// Drawn where a reader sees it: a real box inside the 1400-pixel window, painted.
    pub fn is_seen(&self) -> bool {
        self.visible
            && self.width >= 2.0
            && self.height >= 2.0
            && self.right <= 1400.0
            && (self.paint.contains("gradient") || !self.paint.starts_with("rgba(0, 0, 0, 0)"))
    }
}

/// Every titled timeline cell of the report after layout. The report runs no script, so the
/// probe works on a copy with its Content-Security-Policy removed and one measuring script
/// added at the end; the report itself is not changed.
pub fn timeline_cells(browser: &Path, html: &Path) -> Vec<Cell> {
    let page = std::fs::read_to_string(html).expect("report");
    let csp_at = page
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .expect("CSP");
    let csp_end = csp_at + page[csp_at..].find('>').expect("CSP end") + 1;
    let probe = "<script>\
        const cells = [...document.querySelectorAll('#timeline .tl-line i[title]')].map(e => {\
          const r = e.getBoundingClientRect(); const s = getComputedStyle(e);\
          return {c: e.className, t: e.title, w: r.width, h: r.height, r: r.right,\
            p: s.backgroundColor + ' ' + s.backgroundImage,\
            v: s.visibility === 'visible' && s.display !== 'none'};\
        });\
        const pre = document.createElement('pre'); pre.id = 'probe';\
        pre.textContent = btoa(unescape(encodeURIComponent(JSON.stringify(cells))));\
        document.body.appendChild(pre);\
        </script>";
    let body_end = page.rfind("</body>").expect("body end");
    let probed = format!(
        "{}{}{probe}{}",
        &page[..csp_at],
        &page[csp_end..body_end],
        &page[body_end..]
    );
    let copy = html.with_extension("probe.html");
    std::fs::write(&copy, probed).expect("probe copy");
    let dom = dump_dom(browser, &copy);
    let start = dom.find("<pre id=\"probe\">").expect("the probe ran") + "<pre id=\"probe\">".len();
    let end = start + dom[start..].find("</pre>").expect("probe end");
    use base64::Engine as _;
    let json = base64::engine::general_purpose::STANDARD
        .decode(dom[start..end].trim())
        .expect("base64");
    let cells: Vec<Value> = serde_json::from_slice(&json).expect("probe JSON");
    cells
        .iter()
        .map(|c| Cell {
            class: c["c"].as_str().unwrap_or_default().to_owned(),
            title: c["t"].as_str().unwrap_or_default().to_owned(),
            width: c["w"].as_f64().unwrap_or(0.0),
            height: c["h"].as_f64().unwrap_or(0.0),
            right: c["r"].as_f64().unwrap_or(f64::MAX),
            paint: c["p"].as_str().unwrap_or_default().to_owned(),
            visible: c["v"].as_bool().unwrap_or(false),
        })
        .collect()
}
