//! What a server process costs while `livegate load` runs: its resident memory and CPU time,
//! read from Linux's `/proc/PID` (so the generator must run on the server's machine).
//!
//! CPU time is `utime + stime` from `/proc/PID/stat`, in clock ticks of `USER_HZ`, which Linux
//! fixes at 100 for user space; resident memory is `VmRSS` from `/proc/PID/status`.

use std::time::{Duration, Instant};

/// Linux's user-visible clock tick rate (`USER_HZ`).
const TICKS_PER_SECOND: f64 = 100.0;

/// One reading of the process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Since sampling began.
    pub at: Duration,
    pub rss_mb: f64,
    /// CPU seconds used since the process started.
    pub cpu_s: f64,
}

/// Reads process `pid` now; `None` if it is gone or `/proc` is not there.
pub fn read(pid: u32, since: Instant) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields 14 and 15 of the whole line are the 12th and 13th after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(Sample {
        at: since.elapsed(),
        rss_mb: rss_kb / 1024.0,
        cpu_s: ticks / TICKS_PER_SECOND,
    })
}

/// Samples `pid` every `every` until `until`; the readings in order (the first at once).
pub async fn sample(pid: u32, every: Duration, until: Instant) -> Vec<Sample> {
    let since = Instant::now();
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        samples.extend(read(pid, since));
        if Instant::now() >= until {
            return samples;
        }
    }
}

/// Least-squares slope of resident memory over `samples`, in MB a minute.
pub fn rss_slope_mb_per_min(samples: &[Sample]) -> f64 {
    let n = samples.len() as f64;
    if samples.len() < 2 {
        return f64::NAN;
    }
    let xs: Vec<f64> = samples.iter().map(|s| s.at.as_secs_f64() / 60.0).collect();
    let (mx, my) = (
        xs.iter().sum::<f64>() / n,
        samples.iter().map(|s| s.rss_mb).sum::<f64>() / n,
    );
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, s) in xs.iter().zip(samples) {
        sxy += (x - mx) * (s.rss_mb - my);
        sxx += (x - mx) * (x - mx);
    }
    if sxx == 0.0 { f64::NAN } else { sxy / sxx }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_can_be_read_and_a_steady_rise_has_its_slope() {
        let me = read(std::process::id(), Instant::now()).expect("/proc/self");
        assert!(me.rss_mb > 1.0 && me.cpu_s >= 0.0, "{me:?}");
        let rising: Vec<Sample> = (0..5)
            .map(|m| Sample {
                at: Duration::from_secs(60 * m),
                rss_mb: 100.0 + 2.0 * m as f64,
                cpu_s: 0.0,
            })
            .collect();
        assert!((rss_slope_mb_per_min(&rising) - 2.0).abs() < 1e-9);
    }
}
