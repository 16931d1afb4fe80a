//! Draws engine progress events as a bar on stderr (hidden when stderr is not a terminal).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mailproof_engine::progress::Event;

use crate::display;

pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub fn new(verb: &'static str) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
        bar.set_message(verb);
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar }
    }

    /// Turns one engine event into bar updates.
    pub fn observe(&self, event: &Event) {
        match event {
            Event::Started { bytes_total, .. } => {
                if let Some(total) = bytes_total.filter(|&t| t > 0) {
                    self.bar.set_length(total);
                    self.bar.set_style(
                        ProgressStyle::with_template(
                            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                    );
                } else {
                    self.bar.set_style(
                        ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                }
            }
            Event::FolderStarted { name, .. } => self.bar.set_message(name.clone()),
            Event::Resumed {
                messages_done,
                bytes_done,
            } => {
                self.bar.suspend(|| {
                    eprintln!(
                        "Continuing the interrupted run: {} ({}) already done are kept.",
                        display::plural(*messages_done, "message", "messages"),
                        display::size(*bytes_done)
                    )
                });
                self.bar.set_position(*bytes_done);
                self.bar.reset_eta();
            }
            Event::Advanced { bytes_done, .. } => self.bar.set_position(*bytes_done),
            Event::Warning { message } => self.bar.suspend(|| eprintln!("warning: {message}")),
            Event::FolderFinished { .. } => {}
            Event::Finished { .. } => self.bar.finish_and_clear(),
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
