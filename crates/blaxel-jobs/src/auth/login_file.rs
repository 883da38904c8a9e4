//! `~/.blaxel/config.yaml` as the store of a browser login's tokens, which
//! the SDK shares with `bl` and with other programs: reading the login
//! again, and writing renewed tokens back.
//!
//! `bl` (through Blaxel's Go SDK) saves every token it renews into the
//! file, rewriting the whole file in its own layout. The SDK does the same
//! for its renewals, so that a rotated refresh token reaches `bl` and the
//! next program, but more carefully:
//!
//! - Only the values of `access_token`, `refresh_token` (when it was
//!   rotated) and `expires_in` of the workspace's entry change, where they
//!   already are; every other byte of the file stays as it was. Each edit is
//!   found in the text and proven by parsing the result, which must equal
//!   the file's content with just those values changed; a file the SDK
//!   cannot edit that way is left alone.
//! - Only when the file still holds the tokens the SDK renewed from:
//!   otherwise someone else (`bl`, or the user logging in again) changed it
//!   meanwhile, and their tokens are kept.
//! - Under an exclusive lock on `config.yaml.lock` beside the file, held
//!   from reading the file before the renewal to writing it after, so that
//!   programs using this SDK renew one at a time and never lose each
//!   other's updates. (`bl` takes no lock; the check above covers it.)
//! - By writing a temporary file in the same directory, with the file's
//!   permissions, flushing it to disk and renaming it over the file: a
//!   reader sees the old file or the new one, never a mix. A symbolic link
//!   is followed, and the file it points to is replaced.
//!
//! Everything here blocks: it runs on tokio's blocking threads.

use super::Secret;
use super::login::{DeviceLogin, SavedIn};
use crate::config::ConfigFile;
use serde_yaml_ng::Value;
use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The largest config file the SDK edits (1 MiB; `bl` writes a few
/// hundred bytes per workspace).
const MAX_FILE: u64 = 1 << 20;

/// At most this many lines are tried as the place of one value.
const MAX_CANDIDATES: usize = 64;

/// What a renewal changed.
pub(crate) struct Renewed {
    pub(crate) access_token: Secret,
    /// A new refresh token, when the server rotated it.
    pub(crate) refresh_token: Option<Secret>,
    pub(crate) expires_in: Option<u64>,
}

/// Why renewed tokens were not written.
#[derive(Debug)]
pub(crate) enum SaveError {
    Io(io::Error),
    /// The file no longer holds the tokens that were renewed.
    Changed,
    /// The file could not be edited without touching anything else.
    Layout(&'static str),
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaveError::Io(e) => write!(f, "{e}"),
            SaveError::Changed => f.write_str(
                "the file changed since it was read (another program saved a login); left as it is",
            ),
            SaveError::Layout(why) => write!(f, "{why}; left as it is"),
        }
    }
}

impl From<io::Error> for SaveError {
    fn from(e: io::Error) -> Self {
        SaveError::Io(e)
    }
}

/// The lock that writers of the file take: held until this is dropped.
pub(crate) struct FileLock {
    _file: fs::File,
}

impl SavedIn {
    /// The file itself, following a symbolic link.
    fn target(&self) -> io::Result<PathBuf> {
        fs::canonicalize(&self.path)
    }

    /// Takes the writers' lock (`<file>.lock` beside the file), waiting for
    /// it.
    pub(crate) fn lock(&self) -> io::Result<FileLock> {
        let target = self.target()?;
        let mut name = target.file_name().unwrap_or_default().to_owned();
        name.push(".lock");
        let mut options = fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(target.with_file_name(name))?;
        file.lock()?;
        Ok(FileLock { _file: file })
    }

    /// The login the file holds now for the workspace, if it holds one.
    pub(crate) fn read(&self) -> Option<DeviceLogin> {
        let (text, modified) = read_text(&self.path).ok()?;
        ConfigFile::parse(&text)
            .ok()?
            .workspace(&self.workspace)?
            .credentials
            .as_ref()?
            .device_login(SavedIn {
                modified,
                ..self.clone()
            })
    }

    /// Writes `renewed` into the workspace's entry, if the file still holds
    /// the tokens of `before` (see the [module docs](self)), and answers the
    /// login the file holds then. Call it with the lock held.
    pub(crate) fn save(
        &self,
        before: &DeviceLogin,
        renewed: &Renewed,
    ) -> Result<DeviceLogin, SaveError> {
        let target = self.target()?;
        let (text, _) = read_text(&target)?;
        let holds = |l: &DeviceLogin| (l.access_token.clone(), l.refresh_token.clone());
        let now = match self.read_from(&text) {
            Some(now) if holds(&now) == holds(before) => now,
            _ => return Err(SaveError::Changed),
        };
        let edited = edit(&text, &self.workspace, renewed)?;
        if edited == text {
            return Ok(now);
        }
        // What a reader of the edited file gets: the renewed login.
        let check = self
            .read_from(&edited)
            .ok_or(SaveError::Layout("the edit broke the file"))?;
        if check.access_token.as_ref() != Some(&renewed.access_token)
            || renewed
                .refresh_token
                .as_ref()
                .is_some_and(|r| check.refresh_token.as_ref() != Some(r))
        {
            return Err(SaveError::Layout("the edit did not read back"));
        }
        replace(&target, edited.as_bytes())?;
        Ok(check)
    }

    fn read_from(&self, text: &str) -> Option<DeviceLogin> {
        ConfigFile::parse(text)
            .ok()?
            .workspace(&self.workspace)?
            .credentials
            .as_ref()?
            .device_login(self.clone())
    }
}

/// The file's text and modification time, if it is not too large.
fn read_text(path: &Path) -> io::Result<(String, Option<SystemTime>)> {
    let meta = fs::metadata(path)?;
    if meta.len() > MAX_FILE {
        return Err(io::Error::other(format!("larger than {MAX_FILE} bytes")));
    }
    Ok((fs::read_to_string(path)?, meta.modified().ok()))
}

/// The keys a renewal writes, as `bl` spells them.
const ACCESS_TOKEN: &str = "access_token";
const REFRESH_TOKEN: &str = "refresh_token";
const EXPIRES_IN: &str = "expires_in";

/// `text` with the renewed values in `workspace`'s credentials. A key the
/// entry does not have is not added.
fn edit(text: &str, workspace: &str, renewed: &Renewed) -> Result<String, SaveError> {
    let mut tree: Value =
        serde_yaml_ng::from_str(text).map_err(|_| SaveError::Layout("the file is not YAML"))?;
    let mut text = text.to_owned();
    let mut changes = vec![(
        ACCESS_TOKEN,
        Value::String(renewed.access_token.expose_secret().to_owned()),
    )];
    if let Some(r) = &renewed.refresh_token {
        changes.push((REFRESH_TOKEN, Value::String(r.expose_secret().to_owned())));
    }
    if let Some(secs) = renewed.expires_in {
        changes.push((EXPIRES_IN, Value::Number(secs.into())));
    }
    for (key, value) in changes {
        let Some(slot) = credential_mut(&mut tree, workspace, key) else {
            continue;
        };
        if *slot == value {
            continue;
        }
        *slot = value.clone();
        text = place(&text, key, &value, &tree)?;
    }
    Ok(text)
}

/// The value of `key` in the credentials of `workspace`'s first entry.
fn credential_mut<'a>(tree: &'a mut Value, workspace: &str, key: &str) -> Option<&'a mut Value> {
    tree.get_mut("workspaces")?
        .as_sequence_mut()?
        .iter_mut()
        .find(|w| w.get("name").and_then(Value::as_str) == Some(workspace))?
        .get_mut("credentials")?
        .get_mut(key)
}

/// `text` with one line's value of `key` replaced by `value`: the first
/// candidate line whose replacement parses to exactly `expected`.
fn place(text: &str, key: &str, value: &Value, expected: &Value) -> Result<String, SaveError> {
    let renderings = render(value);
    for range in value_spans(text, key).take(MAX_CANDIDATES) {
        for rendering in &renderings {
            let mut out = String::with_capacity(text.len() + rendering.len());
            out.push_str(&text[..range.start]);
            out.push_str(rendering);
            out.push_str(&text[range.end..]);
            if serde_yaml_ng::from_str::<Value>(&out).is_ok_and(|v| v == *expected) {
                return Ok(out);
            }
        }
    }
    Err(SaveError::Layout(
        "the login's values are not simple `key: value` lines the SDK can edit",
    ))
}

/// How `value` may be written: plain when that is safe, else double-quoted.
fn render(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => {
            let quoted = serde_json::to_string(s).unwrap_or_default();
            let plain = s.starts_with(|c: char| c.is_ascii_alphanumeric())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._~+/=-".contains(c));
            if plain {
                vec![s.clone(), quoted]
            } else {
                vec![quoted]
            }
        }
        other => serde_yaml_ng::to_string(other)
            .map(|s| vec![s.trim().to_owned()])
            .unwrap_or_default(),
    }
}

/// The byte ranges of the values of the lines `key: value` (a block
/// mapping entry, maybe the first of a sequence item: `- key: value`) whose
/// value is a single-line plain, single- or double-quoted scalar, in order.
fn value_spans<'a>(
    text: &'a str,
    key: &'a str,
) -> impl Iterator<Item = std::ops::Range<usize>> + 'a {
    let mut start = 0;
    text.split_inclusive('\n').filter_map(move |line| {
        let at = start;
        start += line.len();
        let line = line.trim_end_matches(['\n', '\r']);
        value_in_line(line, key).map(|r| at + r.start..at + r.end)
    })
}

/// The range of `key`'s value in one line, if the line is `key: value`.
fn value_in_line(line: &str, key: &str) -> Option<std::ops::Range<usize>> {
    let mut rest = line.trim_start_matches(' ');
    while let Some(r) = rest.strip_prefix("- ") {
        rest = r.trim_start_matches(' ');
    }
    let rest = [key.to_owned(), format!("\"{key}\""), format!("'{key}'")]
        .iter()
        .find_map(|k| rest.strip_prefix(k.as_str()))?;
    let rest = rest.trim_start_matches(' ').strip_prefix(':')?;
    if !rest.starts_with(' ') {
        return None;
    }
    let value = rest.trim_start_matches(' ');
    let offset = line.len() - value.len();
    let len = match value.chars().next()? {
        '"' => closing(value, '"', |v, i| {
            v[..i].chars().rev().take_while(|c| *c == '\\').count() % 2 == 0
        })?,
        '\'' => closing(value, '\'', |v, i| !v[i + 1..].starts_with('\''))?,
        '|' | '>' | '&' | '*' | '!' | '{' | '[' | '#' | '%' | '@' | '`' => return None,
        _ => {
            let end = value.find(" #").unwrap_or(value.len());
            value[..end].trim_end_matches(' ').len()
        }
    };
    let after = value[len..].trim_start_matches(' ');
    if !(after.is_empty() || after.starts_with('#')) {
        return None;
    }
    Some(offset..offset + len)
}

/// The length of a quoted scalar that starts `value` and ends with an
/// unescaped `quote` on the same line.
fn closing(value: &str, quote: char, ends: impl Fn(&str, usize) -> bool) -> Option<usize> {
    let mut i = 1;
    while let Some(found) = value[i..].find(quote) {
        let at = i + found;
        if ends(value, at) {
            return Some(at + 1);
        }
        // An escaped quote: `\"`, or `''` (skip both).
        i = at + if quote == '\'' { 2 } else { 1 };
        if i > value.len() {
            return None;
        }
    }
    None
}

/// Replaces `path` with `contents` atomically: a temporary file in the
/// same directory, with `path`'s permissions, flushed, then renamed over
/// it.
fn replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    let permissions = fs::metadata(path)?.permissions();
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".{:016x}.tmp", fastrand::u64(..)));
    let temp = path.with_file_name(name);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp)?;
    let written = (|| {
        file.write_all(contents)?;
        file.set_permissions(permissions)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    // The rename itself reaches the disk with the directory.
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let _ = fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary directory, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new() -> Dir {
            let dir = std::env::temp_dir().join(format!(
                "blaxel-jobs-login-file-{}-{:016x}",
                std::process::id(),
                fastrand::u64(..)
            ));
            fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// `bl login`'s layout, with comments, another workspace, odd spacing
    /// and keys nothing here knows, which must all survive.
    const FILE: &str = "\
# written by bl, then edited by hand
context:
  workspace: ws-b
workspaces:
- name: ws-a
  id: 6f1c2a9e
  credentials:
    access_token: acc-a-1
    refresh_token: ref-a-1
    expires_in: 3600
    device_code: dev-a
  env: \"dev\"
- name: ws-b
  credentials:
    access_token:   \"acc-b-1\"   # quoted, with a comment
    'refresh_token': ref-b-1
    expires_in: 3600
    device_code: dev-b
  custom: {keep: [1, 2, 3]}
tracking: false
extra_top_level: kept
";

    fn saved_in(path: &Path, workspace: &str) -> SavedIn {
        SavedIn {
            path: path.to_owned(),
            workspace: workspace.to_owned(),
            write: true,
            modified: None,
        }
    }

    fn renewed(access: &str, refresh: Option<&str>, expires_in: Option<u64>) -> Renewed {
        Renewed {
            access_token: Secret::new(access),
            refresh_token: refresh.map(Secret::new),
            expires_in,
        }
    }

    /// The lines of `a` and `b` that differ.
    fn changed_lines(a: &str, b: &str) -> Vec<(String, String)> {
        assert_eq!(a.lines().count(), b.lines().count(), "{b}");
        a.lines()
            .zip(b.lines())
            .filter(|(x, y)| x != y)
            .map(|(x, y)| (x.to_owned(), y.to_owned()))
            .collect()
    }

    #[test]
    fn only_the_renewed_values_change_everything_else_is_kept_byte_for_byte() {
        let dir = Dir::new();
        let path = dir.0.join("config.yaml");
        fs::write(&path, FILE).unwrap();
        let file = saved_in(&path, "ws-b");
        let before = file.read().expect("a login");
        let saved = file
            .save(&before, &renewed("acc-b-2", Some("ref-b-2"), Some(900)))
            .unwrap();
        assert_eq!(saved.access_token, Some(Secret::new("acc-b-2")));
        let after = fs::read_to_string(&path).unwrap();
        assert_eq!(
            changed_lines(FILE, &after),
            [
                (
                    "    access_token:   \"acc-b-1\"   # quoted, with a comment".to_owned(),
                    "    access_token:   acc-b-2   # quoted, with a comment".to_owned()
                ),
                (
                    "    'refresh_token': ref-b-1".to_owned(),
                    "    'refresh_token': ref-b-2".to_owned()
                ),
                (
                    "    expires_in: 3600".to_owned(),
                    "    expires_in: 900".to_owned()
                ),
            ]
        );
        // The other workspace's identical `expires_in: 3600` is untouched.
        assert!(after.contains("    refresh_token: ref-a-1\n    expires_in: 3600\n"));
        let now = file.read().unwrap();
        assert_eq!(now.access_token, Some(Secret::new("acc-b-2")));
        assert_eq!(now.refresh_token, Some(Secret::new("ref-b-2")));
        assert_eq!(now.device_code, Some(Secret::new("dev-b")));
        // No temporary file is left behind; the lock file stays.
        let names: Vec<_> = fs::read_dir(&dir.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["config.yaml"]);
    }

    #[test]
    fn a_kept_refresh_token_and_crlf_line_ends_are_left_alone() {
        let dir = Dir::new();
        let path = dir.0.join("config.yaml");
        let crlf = FILE.replace('\n', "\r\n");
        fs::write(&path, &crlf).unwrap();
        let file = saved_in(&path, "ws-a");
        let before = file.read().unwrap();
        file.save(&before, &renewed("acc-a-2", None, None)).unwrap();
        let after = fs::read_to_string(&path).unwrap();
        assert_eq!(
            after,
            crlf.replace("access_token: acc-a-1", "access_token: acc-a-2")
        );
    }

    #[test]
    fn a_file_changed_since_it_was_read_is_not_written() {
        let dir = Dir::new();
        let path = dir.0.join("config.yaml");
        fs::write(&path, FILE).unwrap();
        let file = saved_in(&path, "ws-a");
        let before = file.read().unwrap();
        // `bl` renewed the login meanwhile.
        let by_bl = FILE.replace("ref-a-1", "ref-a-by-bl");
        fs::write(&path, &by_bl).unwrap();
        let err = file
            .save(&before, &renewed("acc-a-2", Some("ref-a-2"), None))
            .unwrap_err();
        assert!(matches!(err, SaveError::Changed), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), by_bl);
    }

    #[test]
    fn a_layout_the_sdk_cannot_edit_in_place_is_not_written() {
        let dir = Dir::new();
        let path = dir.0.join("config.yaml");
        let flow = "context: {workspace: w}\nworkspaces: [{name: w, credentials: {access_token: a1, refresh_token: r1}}]\n";
        fs::write(&path, flow).unwrap();
        let file = saved_in(&path, "w");
        let before = file.read().unwrap();
        let err = file.save(&before, &renewed("a2", None, None)).unwrap_err();
        assert!(matches!(err, SaveError::Layout(_)), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), flow);
        // A value that is a block scalar is not edited either.
        let block = "workspaces:\n- name: w\n  credentials:\n    access_token: |\n      a1\n    refresh_token: r1\n";
        fs::write(&path, block).unwrap();
        let before = file.read().unwrap();
        assert!(file.save(&before, &renewed("a2", None, None)).is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), block);
    }

    #[test]
    fn tokens_that_need_quoting_are_quoted_and_read_back() {
        let dir = Dir::new();
        let path = dir.0.join("config.yaml");
        fs::write(&path, FILE).unwrap();
        let file = saved_in(&path, "ws-a");
        for (i, token) in [
            "12345",
            "true",
            "a: b",
            "x #y",
            "- dash",
            "quote\"and\\backslash",
            "ünïcödé",
            "'single'",
            "new\nline",
            "~",
        ]
        .into_iter()
        .enumerate()
        {
            let before = file.read().unwrap();
            let refresh = format!("{token}-{i}");
            file.save(&before, &renewed(token, Some(&refresh), None))
                .unwrap_or_else(|e| panic!("{token:?}: {e}"));
            let now = file.read().unwrap();
            assert_eq!(
                now.access_token,
                Some(Secret::new(token.trim())),
                "{token:?}"
            );
            assert_eq!(
                now.refresh_token,
                Some(Secret::new(refresh.trim())),
                "{token:?}"
            );
            // The other workspace is untouched.
            let text = fs::read_to_string(&path).unwrap();
            assert!(text.contains("- name: ws-b\n  credentials:\n    access_token:   \"acc-b-1\""));
        }
    }

    #[cfg(unix)]
    #[test]
    fn permissions_are_kept_and_a_symbolic_link_is_followed() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = Dir::new();
        let real = dir.0.join("dotfiles");
        fs::create_dir_all(&real).unwrap();
        let target = real.join("config.yaml");
        fs::write(&target, FILE).unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.0.join("config.yaml");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let file = saved_in(&link, "ws-a");
        let lock = file.lock().unwrap();
        let before = file.read().unwrap();
        file.save(&before, &renewed("acc-a-2", None, None)).unwrap();
        drop(lock);
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            fs::read_to_string(&target)
                .unwrap()
                .contains("access_token: acc-a-2")
        );
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let lock_mode = fs::metadata(real.join("config.yaml.lock"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(
            lock_mode & 0o077,
            0,
            "the lock file is private: {lock_mode:o}"
        );
    }

    /// Writers that each renew their own workspace at once, under the lock,
    /// and a reader that parses the file all along: no update is lost, and
    /// no reader ever sees a broken file.
    #[test]
    fn concurrent_writers_lose_nothing_and_readers_never_see_a_torn_file() {
        const WRITERS: usize = 8;
        const ROUNDS: usize = 25;
        let dir = Dir::new();
        let path = dir.0.join("config.yaml");
        let mut text =
            String::from("# shared by every writer\ncontext:\n  workspace: ws-0\nworkspaces:\n");
        for w in 0..WRITERS {
            text.push_str(&format!(
                "- name: ws-{w}\n  credentials:\n    access_token: acc-{w}-0\n    refresh_token: ref-{w}-0\n    expires_in: 60\n    device_code: dev-{w}\n"
            ));
        }
        text.push_str("tracking: false\n");
        fs::write(&path, &text).unwrap();
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut reads = 0;
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let text = fs::read_to_string(&path).unwrap();
                    let file = ConfigFile::parse(&text)
                        .unwrap_or_else(|e| panic!("a torn file: {e}\n{text}"));
                    for w in 0..WRITERS {
                        assert!(file.workspace(&format!("ws-{w}")).is_some(), "{text}");
                    }
                    reads += 1;
                }
                reads
            });
            let writers: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let path = &path;
                    scope.spawn(move || {
                        let file = saved_in(path, &format!("ws-{w}"));
                        for round in 1..=ROUNDS {
                            let lock = file.lock().unwrap();
                            let before = file.read().unwrap();
                            file.save(
                                &before,
                                &renewed(
                                    &format!("acc-{w}-{round}"),
                                    Some(&format!("ref-{w}-{round}")),
                                    Some(60 + round as u64),
                                ),
                            )
                            .unwrap();
                            drop(lock);
                        }
                    })
                })
                .collect();
            for w in writers {
                w.join().unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            assert!(reader.join().unwrap() > 0);
        });
        let after = fs::read_to_string(&path).unwrap();
        let mut expected = text.clone();
        for w in 0..WRITERS {
            expected = expected
                .replace(&format!("acc-{w}-0\n"), &format!("acc-{w}-{ROUNDS}\n"))
                .replace(&format!("ref-{w}-0\n"), &format!("ref-{w}-{ROUNDS}\n"));
        }
        expected = expected.replace(
            "expires_in: 60\n",
            &format!("expires_in: {}\n", 60 + ROUNDS),
        );
        assert_eq!(after, expected);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Whatever a token endpoint answers, the file either reads back
        /// exactly the renewed tokens with nothing else changed, or is left
        /// as it was.
        #[test]
        fn any_token_is_saved_exactly_or_not_at_all(
            access in "\\PC{1,40}|[ -~]{1,40}",
            refresh in proptest::option::of("\\PC{1,40}|[ -~]{1,40}"),
            expires in proptest::option::of(proptest::num::u64::ANY),
        ) {
            let dir = Dir::new();
            let path = dir.0.join("config.yaml");
            fs::write(&path, FILE).unwrap();
            let file = saved_in(&path, "ws-a");
            let before = file.read().unwrap();
            let result = file.save(&before, &renewed(&access, refresh.as_deref(), expires));
            let text = fs::read_to_string(&path).unwrap();
            let untouched: Value = serde_yaml_ng::from_str(FILE).unwrap();
            let mut now: Value = serde_yaml_ng::from_str(&text).unwrap();
            match result {
                Ok(_) => {
                    let creds = |v: &mut Value, k: &str| credential_mut(v, "ws-a", k).cloned();
                    proptest::prop_assert_eq!(creds(&mut now, ACCESS_TOKEN), Some(Value::String(access.clone())));
                    if let Some(r) = &refresh {
                        proptest::prop_assert_eq!(creds(&mut now, REFRESH_TOKEN), Some(Value::String(r.clone())));
                    }
                    if let Some(e) = expires {
                        proptest::prop_assert_eq!(creds(&mut now, EXPIRES_IN), Some(Value::Number(e.into())));
                    }
                    // Put the old values back: the rest is the same tree.
                    let mut restored = now.clone();
                    let mut old = untouched.clone();
                    for key in [ACCESS_TOKEN, REFRESH_TOKEN, EXPIRES_IN] {
                        let v = credential_mut(&mut old, "ws-a", key).cloned().unwrap();
                        *credential_mut(&mut restored, "ws-a", key).unwrap() = v;
                    }
                    proptest::prop_assert_eq!(restored, untouched);
                }
                Err(_) => proptest::prop_assert_eq!(text, FILE),
            }
        }
    }
}
