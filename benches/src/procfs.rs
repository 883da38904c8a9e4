//! What the benchmarks read from `/proc` (Linux): this process's CPU time,
//! its peak resident memory, and the machine's load and CPU model.
//!
//! CPU time comes from `/proc/self/stat` (`utime` + `stime`, all threads,
//! living and exited) rather than `getrusage`, which would need `unsafe`
//! (forbidden in this workspace). Its resolution is one clock tick (10 ms
//! with the usual `CLK_TCK` of 100), so measure over seconds.

use std::sync::OnceLock;
use std::time::Duration;

/// CPU time used by this process so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTime {
    /// Time in user mode.
    pub user: Duration,
    /// Time in the kernel on the process's behalf.
    pub system: Duration,
}

impl CpuTime {
    /// User plus system time.
    pub fn total(&self) -> Duration {
        self.user + self.system
    }

    /// The time used since `earlier`.
    pub fn since(&self, earlier: &CpuTime) -> CpuTime {
        CpuTime {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 when it cannot be asked).
fn ticks_per_second() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t| *t > 0)
            .unwrap_or(100)
    })
}

/// Parses `utime` and `stime` (fields 14 and 15, in ticks) out of the text
/// of a `/proc/<pid>/stat` file.
pub fn parse_stat_times(stat: &str) -> Option<(u64, u64)> {
    // The command name (field 2) is in parentheses and may hold spaces.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // after_name starts at field 3 (state); utime is field 14.
    let utime = fields.nth(11)?.parse().ok()?;
    let stime = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

/// This process's CPU time so far (zero where `/proc` is unavailable).
pub fn cpu_time() -> CpuTime {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let (utime, stime) = parse_stat_times(&stat).unwrap_or((0, 0));
    let tick = 1_000_000_000 / ticks_per_second();
    CpuTime {
        user: Duration::from_nanos(utime * tick),
        system: Duration::from_nanos(stime * tick),
    }
}

/// The CPU time of another process (zero if it cannot be read).
pub fn process_cpu_time(pid: u32) -> CpuTime {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let (utime, stime) = parse_stat_times(&stat).unwrap_or((0, 0));
    let tick = 1_000_000_000 / ticks_per_second();
    CpuTime {
        user: Duration::from_nanos(utime * tick),
        system: Duration::from_nanos(stime * tick),
    }
}

/// Parses the busy time of all CPUs (user, nice, system, irq, softirq and
/// steal, in ticks) out of the text of `/proc/stat`.
pub fn parse_busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal ...
    Some(f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)? + f.get(7).unwrap_or(&0))
}

/// CPU time spent by every process on the machine so far (all CPUs added).
pub fn machine_busy() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks = parse_busy_ticks(&stat).unwrap_or(0);
    Duration::from_nanos(ticks * (1_000_000_000 / ticks_per_second()))
}

/// The number in the `key:` line of a `/proc/.../status` text (a `kB`
/// unit, if any, dropped).
fn status_field(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// A `kB` value of `/proc/self/status`, such as `VmHWM` or `VmRSS`.
pub fn status_kb(key: &str) -> Option<u64> {
    status_field(&std::fs::read_to_string("/proc/self/status").ok()?, key)
}

/// Context switches of this process's living threads so far, as
/// (voluntary, involuntary): `/proc/self/task/*/status`. A thread switches
/// voluntarily when it blocks (an idle runtime worker parking, a contended
/// lock); involuntarily when the scheduler preempts it.
pub fn context_switches() -> (u64, u64) {
    let mut total = (0, 0);
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return total;
    };
    for task in tasks.flatten() {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        total.0 += status_field(&status, "voluntary_ctxt_switches").unwrap_or(0);
        total.1 += status_field(&status, "nonvoluntary_ctxt_switches").unwrap_or(0);
    }
    total
}

/// The peak resident set size of this process so far, in KiB.
pub fn peak_rss_kb() -> Option<u64> {
    status_kb("VmHWM")
}

/// The first three fields of `/proc/loadavg` (1, 5 and 15 minute load).
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The CPU model (`model name` of `/proc/cpuinfo`) and the number of CPUs
/// this process may use.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpus} CPUs, {model}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_times_are_fields_14_and_15() {
        let line = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 \
                    321 45 0 0 20 0 3 0 100 1000 200";
        assert_eq!(parse_stat_times(line), Some((321, 45)));
    }

    #[test]
    fn busy_time_leaves_out_idle_and_iowait() {
        let stat = "cpu  100 5 50 9000 70 3 2 1 0 0\ncpu0 50 2 25 4500 35 1 1 0 0 0\n";
        assert_eq!(parse_busy_ticks(stat), Some(161));
    }

    #[test]
    fn this_process_has_a_peak_and_cpu_time() {
        assert!(peak_rss_kb().unwrap_or(0) > 0);
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(50) {
            std::hint::black_box(0u64);
        }
        assert!(cpu_time().total() > Duration::ZERO);
    }
}
