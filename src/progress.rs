//! The progress bar drawn on stderr while a run reads files, for a person at a terminal.
//!
//! The engine only reports events ([`Progress`]); this module turns them into one line that
//! is redrawn in place at most ten times a second and erased when the run ends, so the report
//! that follows is never mixed with it. The caller creates a bar only when stderr is a
//! terminal: piped or redirected output never holds a trace of it.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use trailcheck_core::engine::progress::Progress;

/// The shortest time between two redraws: faster is flicker, and costs the workers a lock.
const REDRAW_EVERY: Duration = Duration::from_millis(100);
/// Characters in the bar itself, between the brackets.
const BAR_WIDTH: usize = 20;

/// Where time comes from; tests pass a fake one.
pub trait Clock: Sync {
    /// Time since the bar started.
    fn elapsed(&self) -> Duration;
}

/// The real clock.
pub struct Monotonic(Instant);

impl Monotonic {
    pub fn start() -> Self {
        Self(Instant::now())
    }
}

impl Clock for Monotonic {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// The counts the line shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub total: u64,
    pub done: u64,
    pub bytes: u64,
}

/// A progress bar writing to `out` (stderr in the binary).
pub struct Bar<C: Clock = Monotonic> {
    clock: C,
    total: AtomicU64,
    done: AtomicU64,
    bytes: AtomicU64,
    screen: Mutex<Screen>,
}

struct Screen {
    out: Box<dyn Write + Send>,
    last_draw: Option<Duration>,
    drawn: bool,
}

impl Bar<Monotonic> {
    /// A bar on stderr. Create it only when stderr is a terminal.
    pub fn stderr() -> Self {
        Self::new(Box::new(std::io::stderr()), Monotonic::start())
    }
}

impl<C: Clock> Bar<C> {
    pub fn new(out: Box<dyn Write + Send>, clock: C) -> Self {
        Self {
            clock,
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            screen: Mutex::new(Screen {
                out,
                last_draw: None,
                drawn: false,
            }),
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            total: self.total.load(Ordering::Relaxed),
            done: self.done.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }

    /// Erases the line, if one was drawn, so what is printed next starts on a clean line.
    pub fn finish(&self) {
        let Ok(mut screen) = self.screen.lock() else {
            return;
        };
        if screen.drawn {
            let _ = write!(screen.out, "\r\u{1b}[2K");
            let _ = screen.out.flush();
            screen.drawn = false;
        }
    }

    /// Redraws if the last draw is old enough. A worker that finds another one drawing
    /// skips the draw rather than wait: the next event draws the newer counts anyway.
    fn maybe_draw(&self) {
        let now = self.clock.elapsed();
        let Ok(mut screen) = self.screen.try_lock() else {
            return;
        };
        let due = match screen.last_draw {
            Some(last) => now.saturating_sub(last) >= REDRAW_EVERY,
            // The first draw waits too: a run that ends within it shows no bar at all.
            None => now >= REDRAW_EVERY,
        };
        if !due {
            return;
        }
        screen.last_draw = Some(now);
        screen.drawn = true;
        let line = line(self.snapshot(), now);
        let _ = write!(screen.out, "\r{line}\u{1b}[K");
        let _ = screen.out.flush();
    }
}

impl<C: Clock> Progress for Bar<C> {
    fn total(&self, files: u64) {
        self.total.fetch_add(files, Ordering::Relaxed);
        self.maybe_draw();
    }

    fn done(&self, bytes: u64) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.maybe_draw();
    }
}

impl<C: Clock> Drop for Bar<C> {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `checking [#####...............] 1234/5678 files  45.2 MB/s  1m05s left`:
/// under 80 columns up to ten million files.
pub fn line(s: Snapshot, elapsed: Duration) -> String {
    let filled = (s.done.min(s.total) * BAR_WIDTH as u64)
        .checked_div(s.total)
        .unwrap_or(0) as usize;
    let bar = format!("{}{}", "#".repeat(filled), ".".repeat(BAR_WIDTH - filled));
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        s.bytes as f64 / secs / 1e6
    } else {
        0.0
    };
    // A decimal only where it says something.
    let rate = if rate < 100.0 {
        format!("{rate:.1}")
    } else {
        format!("{rate:.0}")
    };
    format!(
        "checking [{bar}] {}/{} files  {rate} MB/s  {}",
        s.done,
        s.total,
        time_left(s, elapsed)
    )
}

/// The remaining files at the rate so far; unknown until a file is done.
fn time_left(s: Snapshot, elapsed: Duration) -> String {
    if s.done == 0 || s.done >= s.total {
        return "--".to_owned();
    }
    let per_file = elapsed.as_secs_f64() / s.done as f64;
    let left = per_file * (s.total - s.done) as f64;
    format!("{} left", short_duration(left.round() as u64))
}

/// `12s`, `3m05s`, `1h02m`.
fn short_duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A clock the test moves by hand, in milliseconds.
    #[derive(Clone, Default)]
    struct FakeClock(Arc<AtomicU64>);

    impl FakeClock {
        fn set(&self, millis: u64) {
            self.0.store(millis, Ordering::Relaxed);
        }
    }

    impl Clock for FakeClock {
        fn elapsed(&self) -> Duration {
            Duration::from_millis(self.0.load(Ordering::Relaxed))
        }
    }

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn the_line_shows_files_rate_and_time_left() {
        let s = Snapshot {
            total: 400,
            done: 100,
            bytes: 50_000_000,
        };
        assert_eq!(
            line(s, Duration::from_secs(10)),
            "checking [#####...............] 100/400 files  5.0 MB/s  30s left"
        );
    }

    #[test]
    fn the_line_before_any_file_and_when_all_are_done() {
        let none = Snapshot::default();
        assert_eq!(
            line(none, Duration::ZERO),
            "checking [....................] 0/0 files  0.0 MB/s  --"
        );
        let all = Snapshot {
            total: 7,
            done: 7,
            bytes: 0,
        };
        assert!(
            line(all, Duration::from_secs(1)).starts_with("checking [####################] 7/7")
        );
    }

    #[test]
    fn the_line_fits_80_columns_with_large_counts() {
        let s = Snapshot {
            total: 9_999_999,
            done: 1_234_567,
            bytes: 99_999_999_999,
        };
        let shown = line(s, Duration::from_secs(360_000));
        assert!(shown.contains(" 0.3 MB/s"), "{shown}");
        let shown = line(s, Duration::from_secs(1));
        assert!(shown.len() <= 80, "{} columns: {shown}", shown.len());
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(short_duration(9), "9s");
        assert_eq!(short_duration(185), "3m05s");
        assert_eq!(short_duration(3720), "1h02m");
    }

    #[test]
    fn redraws_are_throttled_and_the_line_is_erased_at_the_end() {
        let clock = FakeClock::default();
        let out = Captured::default();
        let bar = Bar::new(Box::new(out.clone()), clock.clone());
        bar.total(3);
        bar.done(1_000_000);
        assert_eq!(out.text(), "", "nothing in the first 100 ms");

        clock.set(1000);
        bar.done(1_000_000);
        clock.set(1050);
        bar.done(1_000_000);
        let drawn = out.text();
        assert_eq!(
            drawn.matches('\r').count(),
            1,
            "one draw within 100 ms: {drawn:?}"
        );
        assert!(drawn.contains("2/3 files  2.0 MB/s  1s left"), "{drawn:?}");

        bar.finish();
        assert!(out.text().ends_with("\r\u{1b}[2K"));
        bar.finish();
        assert_eq!(out.text().matches("\u{1b}[2K").count(), 1, "erased once");
    }

    #[test]
    fn a_run_that_ends_quickly_leaves_nothing() {
        let out = Captured::default();
        let bar = Bar::new(Box::new(out.clone()), FakeClock::default());
        bar.total(1);
        bar.done(10);
        drop(bar);
        assert_eq!(out.text(), "");
    }
}
