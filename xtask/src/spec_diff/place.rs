//! Where a compared schema sits, and how that reads in a difference key.

use super::Side;

/// One step from a schema to a schema inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Property(String),
    Items,
    Values,
}

/// Where a compared schema sits: a subject (`schema Job`, `operation GET
/// /jobs`), an optional base inside it (`parameter query limit`) and a path
/// of steps below that.
#[derive(Debug, Clone)]
pub(super) struct Place {
    subject: String,
    base: Option<String>,
    path: Vec<Step>,
}

impl Place {
    /// The root of a subject.
    pub(super) fn new(subject: String, base: Option<String>) -> Self {
        Place {
            subject,
            base,
            path: Vec::new(),
        }
    }

    pub(super) fn child(&self, step: Step) -> Self {
        let mut place = self.clone();
        place.path.push(step);
        place
    }

    /// `property a.b[]`, `items`, or nothing at the root.
    fn path_label(&self) -> Option<String> {
        let mut text = String::new();
        for (i, step) in self.path.iter().enumerate() {
            match (i, step) {
                (0, Step::Property(name)) => text = format!("property {name}"),
                (0, Step::Items) => text = "items".into(),
                (0, Step::Values) => text = "values".into(),
                (_, Step::Property(name)) => {
                    text.push('.');
                    text.push_str(name);
                }
                (_, Step::Items) => text.push_str("[]"),
                (_, Step::Values) => text.push_str("{}"),
            }
        }
        (!text.is_empty()).then_some(text)
    }

    fn label(&self) -> Option<String> {
        match (&self.base, self.path_label()) {
            (None, p) => p,
            (Some(b), None) => Some(b.clone()),
            (Some(b), Some(p)) => Some(format!("{b} {p}")),
        }
    }

    /// `<subject>: <place>: <what>`.
    pub(super) fn key(&self, what: &str) -> String {
        match self.label() {
            Some(label) => format!("{}: {label}: {what}", self.subject),
            None => format!("{}: {what}", self.subject),
        }
    }

    /// `<subject>: <place> only in ours` (or `<subject> only in ours` at the root).
    pub(super) fn presence(&self, side: Side) -> String {
        match self.label() {
            Some(label) => format!("{}: {label} {}", self.subject, side.only()),
            None => format!("{} {}", self.subject, side.only()),
        }
    }
}
