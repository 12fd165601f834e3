//! The server's CPU time and memory, from `/proc/PID/stat` (utime + stime) and
//! `/proc/PID/status` (VmRSS, VmHWM). Parsing is pure; [`sample`] reads the files.

/// CPU ticks (utime + stime) of one `/proc/PID/stat` line. The command name (field 2) is
/// in parentheses and may hold spaces and parentheses itself, so fields are counted from
/// the last `)`: utime and stime are fields 14 and 15 of the line.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    // `after` starts at field 3 (state): utime is the 12th field from there.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// A `kB` line of `/proc/PID/status` (`VmRSS`, `VmHWM`), in KiB.
pub fn status_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// One reading of the server's processes, summed over them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// CPU ticks (see [`ticks_per_second`]).
    pub cpu_ticks: u64,
    /// Resident memory now, KiB.
    pub rss_kib: u64,
    /// Peak resident memory, KiB.
    pub hwm_kib: u64,
}

/// Reads `pids`; an error names the file that could not be read or parsed.
pub fn sample(pids: &[u32]) -> Result<Sample, String> {
    let mut s = Sample::default();
    for pid in pids {
        let read = |file: &str| {
            let path = format!("/proc/{pid}/{file}");
            std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))
        };
        let stat = read("stat")?;
        let status = read("status")?;
        s.cpu_ticks += cpu_ticks(&stat).ok_or_else(|| format!("/proc/{pid}/stat: no utime/stime"))?;
        s.rss_kib += status_kib(&status, "VmRSS").ok_or_else(|| format!("/proc/{pid}/status: no VmRSS"))?;
        s.hwm_kib += status_kib(&status, "VmHWM").ok_or_else(|| format!("/proc/{pid}/status: no VmHWM"))?;
    }
    Ok(s)
}

/// Clock ticks per second of the CPU times in `/proc/PID/stat`.
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as u64 } else { 100 }
}
