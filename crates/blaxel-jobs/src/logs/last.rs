//! The last lines of one task, bounded in count and bytes: what a failure
//! report shows of why a task failed.

use super::line::LogLine;
use super::window::{self, GapReason, Limits, LogGap};
use crate::ExecutionRef;
use crate::error::{Error, InvalidInput};
use chrono::{DateTime, TimeDelta, Utc};

/// How much of a task's output to attach: its last `lines` lines, at most
/// `bytes` bytes of text in all, for at most `tasks` tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LastLines {
    /// The most lines per task (default 20).
    pub lines: usize,
    /// The most bytes of text per task (default 4 KiB); the oldest line
    /// kept may be cut at the start to fit.
    pub bytes: usize,
    /// The most tasks that get lines (default 100); the others get none.
    pub tasks: usize,
}

impl Default for LastLines {
    fn default() -> Self {
        LastLines {
            lines: 20,
            bytes: 4096,
            tasks: 100,
        }
    }
}

impl LastLines {
    /// The last `lines` lines of each task, at most `bytes` bytes of text,
    /// for at most 100 tasks.
    pub fn new(lines: usize, bytes: usize) -> Self {
        LastLines {
            lines,
            bytes,
            ..LastLines::default()
        }
    }

    /// For at most `n` tasks.
    pub fn tasks(mut self, n: usize) -> Self {
        self.tasks = n;
        self
    }

    pub(crate) fn check(&self) -> Result<(), InvalidInput> {
        if self.lines == 0 {
            return Err(InvalidInput::at_field("lines", "must be at least 1"));
        }
        Ok(())
    }
}

/// A task's last lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskLines {
    /// The lines, oldest first.
    pub lines: Vec<LogLine>,
    /// Whether older lines were left out, or the oldest line kept was cut,
    /// to stay within the counts asked for.
    pub truncated: bool,
    /// Where lines may be missing for other reasons (see
    /// [`Logs::gaps`](super::Logs::gaps)).
    pub gaps: Vec<LogGap>,
}

/// The span of an execution, to read its lines in: from a minute before it
/// was created to a minute after it ended (or now, while it runs); the
/// last day when the server says neither.
pub(crate) async fn span(
    execution: &ExecutionRef<'_>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), Error> {
    let e = execution.get().send().await?;
    let now = DateTime::<Utc>::from(std::time::SystemTime::now());
    let at = |t: Option<&str>| t.and_then(super::line::parse_timestamp);
    let margin = TimeDelta::minutes(1);
    let created = at(e.metadata.created_at.as_deref()).unwrap_or(now - TimeDelta::days(1));
    let ended = at(e.metadata.completed_at.as_deref()).unwrap_or(now);
    let start = created.checked_sub_signed(margin).unwrap_or(created);
    let end = ended
        .max(created)
        .checked_add_signed(margin)
        .unwrap_or(ended);
    Ok((start, end))
}

/// The last lines of task `task` (its label: the index) of `execution`,
/// written from `start` to `end`, within `limits`.
pub(crate) async fn of_task(
    execution: &ExecutionRef<'_>,
    task: &str,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    limits: LastLines,
) -> Result<TaskLines, Error> {
    limits.check()?;
    let read = Limits {
        max_lines: limits.lines,
        ..Limits::default()
    };
    let logs = window::read(&execution.logs().task_id(task), start, end, read).await?;
    let (left_out, gaps): (Vec<LogGap>, Vec<LogGap>) = logs
        .gaps
        .into_iter()
        .partition(|g| g.reason == GapReason::MaxLines);
    let (lines, cut) = within_bytes(logs.lines, limits.bytes);
    Ok(TaskLines {
        lines,
        truncated: cut || !left_out.is_empty(),
        gaps,
    })
}

/// The newest of `lines` (oldest first) whose text fits in `bytes`; the
/// oldest line kept is cut at its start to fit. Whether anything was left
/// out or cut.
fn within_bytes(mut lines: Vec<LogLine>, bytes: usize) -> (Vec<LogLine>, bool) {
    let mut room = bytes;
    let mut keep = 0;
    let mut cut = false;
    for line in lines.iter_mut().rev() {
        if line.message.len() <= room {
            room -= line.message.len();
            keep += 1;
            continue;
        }
        if room > 0 {
            // The end of the line, on a character boundary.
            let mut from = line.message.len() - room;
            while !line.message.is_char_boundary(from) {
                from += 1;
            }
            line.message = line.message[from..].to_owned();
            keep += 1;
        }
        cut = true;
        break;
    }
    let drop = lines.len() - keep;
    lines.drain(..drop);
    (lines, cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::Severity;

    fn line(message: &str) -> LogLine {
        LogLine {
            timestamp: DateTime::<Utc>::UNIX_EPOCH,
            severity: Severity::Missing,
            message: message.to_owned(),
            trace_id: None,
            task: None,
            execution: None,
            resource: "j".into(),
        }
    }

    fn texts(lines: &[LogLine]) -> Vec<&str> {
        lines.iter().map(|l| l.message.as_str()).collect()
    }

    #[test]
    fn the_newest_lines_within_the_bytes_the_oldest_cut_to_fit() {
        let lines = vec![line("first"), line("second"), line("third")];
        let (all, cut) = within_bytes(lines.clone(), 100);
        assert_eq!(
            (texts(&all), cut),
            (vec!["first", "second", "third"], false)
        );
        let (some, cut) = within_bytes(lines.clone(), 8);
        assert_eq!((texts(&some), cut), (vec!["ond", "third"], true));
        let (none, cut) = within_bytes(lines, 0);
        assert_eq!((none.len(), cut), (0, true));
        // A cut never splits a character.
        let (one, _) = within_bytes(vec![line("héé")], 3);
        assert_eq!(texts(&one), ["é"]);
    }

    proptest::proptest! {
        /// Any lines (a server's text) and any budget: the text kept fits,
        /// is the end of what was written, and a cut is said.
        #[test]
        fn any_lines_are_kept_within_the_bytes(
            messages in proptest::collection::vec(".{0,20}", 0..10),
            bytes in 0usize..120,
        ) {
            let lines: Vec<LogLine> = messages.iter().map(|m| line(m)).collect();
            let all: String = messages.concat();
            let (kept, cut) = within_bytes(lines, bytes);
            let text: String = kept.iter().map(|l| l.message.as_str()).collect();
            proptest::prop_assert!(text.len() <= bytes);
            proptest::prop_assert!(all.ends_with(&text));
            proptest::prop_assert_eq!(cut, text.len() < all.len());
        }
    }
}
