//! Draws library progress with indicatif on stderr, only when stderr is a
//! terminal and output is not quieted; `-v` adds stage timings.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use calibset::{Progress, Stage};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// indicatif-backed [`Progress`].
pub struct Bar {
    bar: ProgressBar,
    verbose: bool,
    current: Mutex<Option<(Stage, Instant)>>,
}

impl Bar {
    pub fn new(quiet: bool, verbose: bool) -> Self {
        let visible = !quiet && std::io::stderr().is_terminal();
        let bar = ProgressBar::with_draw_target(
            None,
            if visible {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        Bar {
            bar,
            verbose,
            current: Mutex::new(None),
        }
    }
}

impl Progress for Bar {
    fn start(&self, stage: Stage, len: Option<u64>) {
        let style = match len {
            Some(_) => ProgressStyle::with_template(
                "{msg:>14} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})",
            ),
            None => ProgressStyle::with_template("{msg:>14} {spinner} {elapsed}"),
        }
        .expect("valid template")
        .progress_chars("=> ");
        self.bar.reset();
        self.bar.set_style(style);
        self.bar.set_length(len.unwrap_or(0));
        self.bar.set_position(0);
        self.bar.set_message(stage.label());
        *self.current.lock().expect("progress lock") = Some((stage, Instant::now()));
    }

    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
        if let Some((stage, t)) = self.current.lock().expect("progress lock").take()
            && self.verbose
        {
            eprintln!("calibset: {} took {:.2?}", stage.label(), t.elapsed());
        }
    }
}
