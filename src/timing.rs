//! Stage timings for benchmarks and profiling: with `KILN_TIMINGS` set, each
//! [`StageTimer::mark`] prints how long the stage since the previous mark took (to stderr).
//! Off by default, and then free apart from one environment lookup per timer.

use std::cell::Cell;
use std::time::Instant;

pub struct StageTimer {
    on: bool,
    indent: &'static str,
    last: Cell<Instant>,
}

impl StageTimer {
    pub fn new() -> Self {
        Self::with_indent("")
    }

    /// A timer for the sub-stages of a stage: its lines are indented under the stage's own.
    pub fn nested() -> Self {
        Self::with_indent("  ")
    }

    fn with_indent(indent: &'static str) -> Self {
        StageTimer {
            on: std::env::var_os("KILN_TIMINGS").is_some(),
            indent,
            last: Cell::new(Instant::now()),
        }
    }

    pub fn mark(&self, stage: &str) {
        if self.on {
            let now = Instant::now();
            let width = 20 - self.indent.len();
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "timing: {}{stage:<width$} {:>8.1} ms",
                self.indent,
                (now - self.last.get()).as_secs_f64() * 1000.0
            );
            self.last.set(now);
        }
    }
}

impl Default for StageTimer {
    fn default() -> Self {
        Self::new()
    }
}
