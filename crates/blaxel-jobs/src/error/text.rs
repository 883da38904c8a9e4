//! How server text is shown: clipped, on one line.

use std::fmt;
/// Writes at most `.1` characters of `.0`, then `…` if it was longer: the
/// way every text a server sent is shown.
pub(crate) struct Clip<'a>(pub(crate) &'a str, pub(crate) usize);

impl fmt::Display for Clip<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(self.1) {
            None => f.write_str(self.0),
            Some((end, _)) => {
                f.write_str(&self.0[..end])?;
                f.write_str("…")
            }
        }
    }
}

impl fmt::Debug for Clip<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

/// The longest server message, in characters, that `Display` shows.
pub(crate) const MESSAGE_SHOWN: usize = 300;
/// The longest server code, request id or header value `Display` shows.
pub(crate) const SHORT_SHOWN: usize = 128;

/// The first meaningful line of a message (parsers such as the YAML one
/// add multi-line source snippets).
pub(crate) fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .to_owned()
}

/// An error's message followed by its causes, on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}
