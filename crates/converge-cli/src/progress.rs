//! What an apply shows while it runs: on a terminal, a live line per step in
//! flight with its AWS state and elapsed time, and a line per finished step;
//! elsewhere (CI logs, pipes), plain lines stamped with the time since the start.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use converge_engine::{Event, SkipReason};
use converge_ops::{Step, StepGraph, StepId};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) struct Progress<'a> {
    steps: &'a StepGraph,
    started: Instant,
    began: BTreeMap<StepId, Instant>,
    color: bool,
    live: Option<Live>,
    /// What each step last waited for, so plain output says it once.
    waiting: BTreeMap<StepId, String>,
}

struct Live {
    multi: MultiProgress,
    bars: BTreeMap<StepId, ProgressBar>,
}

/// How a step reads: `create subnet.private_a (CreateSubnet)`.
pub(crate) fn label(step: &Step) -> String {
    format!("{} {} ({})", step.phase.as_str(), step.address, step.operation.aws_operation())
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

impl<'a> Progress<'a> {
    /// `live`: draw live lines (stderr is a terminal); `color`: paint the marks.
    pub(crate) fn new(steps: &'a StepGraph, live: bool, color: bool) -> Progress<'a> {
        let live = live.then(|| Live {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: BTreeMap::new(),
        });
        Progress { steps, started: Instant::now(), began: BTreeMap::new(), color, live, waiting: BTreeMap::new() }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }

    /// Prints a line above the live lines (or plainly, stamped).
    pub(crate) fn line(&self, text: &str) {
        match &self.live {
            Some(live) => {
                let _ = live.multi.println(text);
            }
            None => eprintln_stamped(self.started.elapsed(), text),
        }
    }

    fn step_label(&self, id: StepId) -> String {
        self.steps.get(id).map_or_else(|| format!("step {id}"), label)
    }

    fn took(&self, id: StepId) -> String {
        self.began.get(&id).map(|t| seconds(t.elapsed())).unwrap_or_default()
    }

    pub(crate) fn event(&mut self, event: &Event) {
        match event {
            Event::Started { step, .. } => {
                self.began.insert(*step, Instant::now());
                let label = self.step_label(*step);
                match &mut self.live {
                    Some(live) => {
                        let bar = live.multi.add(ProgressBar::new_spinner());
                        bar.set_style(
                            ProgressStyle::with_template("{spinner} {prefix} {wide_msg} {elapsed:>4}")
                                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                        );
                        bar.set_prefix(label);
                        bar.enable_steady_tick(Duration::from_millis(120));
                        live.bars.insert(*step, bar);
                    }
                    None => self.line(&format!("start  {step:>3}. {label}")),
                }
            }
            Event::Waiting { step, waiting_for } => match &self.live {
                Some(live) => {
                    if let Some(bar) = live.bars.get(step) {
                        bar.set_message(format!("waiting for {waiting_for}"));
                    }
                }
                None => {
                    if self.waiting.get(step) != Some(waiting_for) {
                        self.line(&format!("wait   {step:>3}. {}: waiting for {waiting_for}", self.step_label(*step)));
                        self.waiting.insert(*step, waiting_for.clone());
                    }
                }
            },
            Event::Retrying { step, error, attempt, after } => {
                let mut reason: String = error.message.chars().take(90).collect();
                if reason.len() < error.message.len() {
                    reason.push('…');
                }
                let text = format!(
                    "{} {} ({reason}); retry {attempt} in {}",
                    error.aws_operation,
                    error.code,
                    seconds(*after)
                );
                match &self.live {
                    Some(live) => {
                        if let Some(bar) = live.bars.get(step) {
                            bar.set_message(text);
                        }
                    }
                    None => self.line(&format!("retry  {step:>3}. {}: {text}", self.step_label(*step))),
                }
            }
            Event::Done { step, output } => {
                let id = output.id.as_deref().map(|id| format!(" → {id}")).unwrap_or_default();
                let mark = self.paint("32", "done ");
                let text = format!("{mark}  {step:>3}. {}{id} ({})", self.step_label(*step), self.took(*step));
                self.finish(*step, &text);
            }
            Event::Failed { step, error } => {
                let mark = self.paint("31", "FAIL ");
                let text = format!(
                    "{mark}  {step:>3}. {}: {} {} ({})",
                    self.step_label(*step),
                    error.aws_operation,
                    error.code,
                    self.took(*step)
                );
                self.finish(*step, &text);
            }
            Event::Interrupted { step } => {
                let mark = self.paint("33", "stop ");
                let text = format!(
                    "{mark}  {step:>3}. {}: interrupted; AWS may still be carrying it out",
                    self.step_label(*step)
                );
                self.finish(*step, &text);
            }
            Event::Skipped { step, reason } => {
                let why = match reason {
                    SkipReason::DependencyFailed(failed) => format!("step {failed} failed"),
                    SkipReason::Cancelled => "the apply was stopped".to_owned(),
                };
                let mark = self.paint("33", "skip ");
                self.line(&format!("{mark}  {step:>3}. {}: because {why}", self.step_label(*step)));
            }
        }
    }

    fn finish(&mut self, step: StepId, text: &str) {
        if let Some(live) = &mut self.live
            && let Some(bar) = live.bars.remove(&step)
        {
            bar.finish_and_clear();
            live.multi.remove(&bar);
        }
        self.line(text);
    }

    /// Clears what is left of the live lines.
    pub(crate) fn finish_all(&mut self) {
        if let Some(live) = &mut self.live {
            for (_, bar) in std::mem::take(&mut live.bars) {
                bar.finish_and_clear();
            }
            let _ = live.multi.clear();
        }
    }
}

fn eprintln_stamped(elapsed: Duration, text: &str) {
    // Progress is best effort: a closed stderr does not stop the apply.
    crate::console::say(&format!("[{:>7.1}s] {text}", elapsed.as_secs_f64()));
}
