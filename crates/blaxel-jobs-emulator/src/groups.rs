//! The process groups of tasks that run for real: none outlives its task,
//! nor the emulator, however either ends.
//!
//! Each task's process (`sh -c <command>`) leads a process group of its
//! own, which every process it starts joins unless it leaves on purpose
//! (`setsid`). The whole group is killed (SIGKILL):
//!
//! - when the task's main process ends: on the platform a task's container
//!   ends with its main process, and so do the processes it left in the
//!   background here;
//! - when the task times out or is cancelled, and when the emulator stops
//!   ([`Emulator::shutdown`](crate::Emulator::shutdown), or the `Emulator`
//!   dropped, which kills them before `drop` returns);
//! - when the emulator's process ends without doing either (killed with
//!   SIGKILL, or a test process that exits with an emulator still running):
//!   a watchdog, one `sh` per emulator started with its first task process,
//!   in a process group of its own, reads the groups alive on a pipe whose
//!   other end only the emulator holds. The system closes that end however
//!   the process ends, and the watchdog then kills every group still
//!   listed.
//!
//! Killing a group needs `kill(2)`, which the workspace's `forbid(unsafe)`
//! rules out calling directly: it goes through rustix's safe wrapper. A
//! child that sets its own parent-death signal would need code between
//! `fork` and `exec` (`pre_exec`, which is `unsafe`), and would cover the
//! task's main process only, not what it started: the watchdog covers
//! the whole group without it.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::sync::Mutex;

/// What the watchdog runs: `+N` lists group N, `-N` takes it off, `q`
/// ends the watchdog; the end of its input kills every group listed.
const WATCHDOG: &str = r#"g=' '
while IFS= read -r l; do
  case $l in
    +*) g="$g${l#+} " ;;
    -*) p=${l#-}; case $g in *" $p "*) g="${g%% $p *} ${g#* $p }" ;; esac ;;
    q) exit 0 ;;
  esac
done
for p in $g; do kill -KILL "-$p" 2>/dev/null; done
"#;

/// The task process groups of one emulator.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The groups alive (their leaders' process ids).
    live: BTreeSet<u32>,
    /// The watchdog, once started; `None` inside after it failed to start.
    watchdog: Option<Option<Watchdog>>,
    /// No new group may be listed: the emulator has stopped.
    closed: bool,
}

#[derive(Debug)]
struct Watchdog {
    pipe: std::io::PipeWriter,
    child: std::process::Child,
}

impl Groups {
    /// Lists the group that task process `pid` leads. Answers false when
    /// the emulator has stopped (the caller then kills the group at once).
    pub(crate) fn add(&self, pid: u32) -> bool {
        let mut inner = self.lock();
        if inner.closed {
            return false;
        }
        inner.live.insert(pid);
        if let Some(w) = inner.watchdog.get_or_insert_with(Watchdog::start) {
            let _ = writeln!(w.pipe, "+{pid}");
        }
        true
    }

    /// Kills group `pid` and takes it off the list.
    pub(crate) fn end(&self, pid: u32) {
        kill_group(pid);
        let mut inner = self.lock();
        inner.live.remove(&pid);
        if let Some(Some(w)) = inner.watchdog.as_mut() {
            let _ = writeln!(w.pipe, "-{pid}");
        }
    }

    /// Kills every group listed, now, refuses new ones, and lets the
    /// watchdog go.
    pub(crate) fn kill_all(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        for pid in std::mem::take(&mut inner.live) {
            kill_group(pid);
        }
        if let Some(Some(mut w)) = inner.watchdog.take() {
            let _ = writeln!(w.pipe, "q");
            drop(w.pipe);
            // Reaped on a thread of its own: `drop` must not wait.
            let _ = std::thread::Builder::new()
                .name("emulator-watchdog-reaper".to_owned())
                .spawn(move || w.child.wait());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Watchdog {
    /// Starts a watchdog; `None` (with a warning) when it cannot start.
    fn start() -> Option<Watchdog> {
        let started = std::io::pipe().and_then(|(reader, pipe)| {
            let mut cmd = std::process::Command::new("sh");
            cmd.arg("-c")
                .arg(WATCHDOG)
                .stdin(reader)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            // Out of the emulator's group: a signal to that group (Ctrl-C
            // in a terminal) must not end the watchdog before the emulator.
            #[cfg(unix)]
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            Ok(Watchdog {
                child: cmd.spawn()?,
                pipe,
            })
        });
        match started {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the watchdog of task processes; \
                    they may outlive an emulator process that is killed");
                None
            }
        }
    }
}

/// Kills process group `pid` (SIGKILL); one that no longer exists is fine.
#[cfg(unix)]
pub(crate) fn kill_group(pid: u32) {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// Elsewhere, tasks have no process groups: nothing more to kill.
#[cfg(not(unix))]
pub(crate) fn kill_group(_pid: u32) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    /// Whether process `pid` is alive (a zombie is not).
    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.to_owned()))
            .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
    }

    /// A group led by a shell with a background `sleep`; answers the
    /// leader and the `sleep`.
    fn group() -> (std::process::Child, u32) {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 300 & echo $!; wait"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let sleeper = line.trim().parse().unwrap();
        (child, sleeper)
    }

    /// Polls (a killed process takes a moment to die), for at most 10 s.
    fn gone(pid: u32) -> bool {
        for _ in 0..1000 {
            if !alive(pid) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn ending_a_group_kills_what_its_leader_started() {
        let groups = Groups::default();
        let (mut leader, sleeper) = group();
        assert!(groups.add(leader.id()));
        assert!(alive(sleeper));
        groups.end(leader.id());
        let _ = leader.wait();
        assert!(gone(sleeper));
        groups.kill_all();
    }

    #[test]
    fn killing_all_refuses_new_groups_and_kills_the_listed_ones() {
        let groups = Groups::default();
        let (mut a, a_sleeper) = group();
        let (mut b, b_sleeper) = group();
        assert!(groups.add(a.id()) && groups.add(b.id()));
        groups.kill_all();
        assert!(!groups.add(12345678), "closed");
        let _ = (a.wait(), b.wait());
        assert!(gone(a_sleeper) && gone(b_sleeper));
    }

    #[test]
    fn the_watchdog_kills_the_groups_listed_when_its_pipe_closes() {
        let groups = Groups::default();
        let (mut a, a_sleeper) = group();
        let (mut b, b_sleeper) = group();
        assert!(groups.add(a.id()) && groups.add(b.id()));
        // Taken off the list: the watchdog leaves it alone.
        let (mut c, c_sleeper) = group();
        assert!(groups.add(c.id()));
        groups.lock().live.remove(&c.id());
        {
            let mut inner = groups.lock();
            let Some(Some(w)) = inner.watchdog.as_mut() else {
                panic!("a watchdog")
            };
            writeln!(w.pipe, "-{}", c.id()).unwrap();
        }
        // As if the emulator's process ended: the pipe closes, nothing
        // else is done.
        let Some(Some(w)) = groups.lock().watchdog.take() else {
            panic!("a watchdog")
        };
        let Watchdog { pipe, mut child } = w;
        drop(pipe);
        child.wait().unwrap();
        let _ = (a.wait(), b.wait());
        assert!(gone(a_sleeper) && gone(b_sleeper));
        assert!(alive(c_sleeper), "a group off the list is left alone");
        kill_group(c.id());
        let _ = c.wait();
        assert!(gone(c_sleeper));
    }
}
