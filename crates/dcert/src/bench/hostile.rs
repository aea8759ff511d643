//! `dcert bench hostile`: the memory and time of verifying each crafted hostile file
//! (`dcert_core::pdf::hostile`) against a genuine certificate, each in a process of its own
//! (`dcert verify`), so that the peak resident memory is the kernel's count for that file alone.
//! The genuine certificate is the baseline of the same run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// One file's figures.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The shape (or `genuine`).
    pub name: String,
    /// The file's size.
    pub bytes: usize,
    /// Wall time of the whole `dcert verify` process, in seconds.
    pub seconds: f64,
    /// The process's peak resident memory, in bytes.
    pub peak_rss_bytes: u64,
    /// The outcome and reason the verifier gave, or what went wrong.
    pub result: String,
}

/// The whole run.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    /// The verifier that was measured.
    pub verifier: String,
    /// This process's peak resident memory when it started the verifiers: no child's peak can
    /// read lower, since a child counts its parent's memory until it execs.
    pub floor_rss_bytes: u64,
    /// The genuine certificate, the baseline.
    pub genuine: Row,
    /// Each crafted file.
    pub shapes: Vec<Row>,
}

/// What to measure.
pub struct Options<'a> {
    /// The trust list and the pinned root.
    pub trust: &'a Path,
    pub root_fingerprint: String,
    /// The genuine certificate.
    pub genuine: &'a Path,
    /// The size of the crafted files.
    pub size: usize,
    /// The `dcert` binary to measure (this one by default).
    pub dcert: PathBuf,
}

/// Runs `dcert verify` on `file` and measures it.
fn measure(options: &Options<'_>, name: &str, file: &Path) -> Result<Row> {
    let bytes = std::fs::metadata(file)?.len() as usize;
    let start = Instant::now();
    let mut child = Command::new(&options.dcert)
        .args(["verify", "--json", "--trust"])
        .arg(options.trust)
        .args(["--root-fingerprint", &options.root_fingerprint])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot run {}", options.dcert.display()))?;
    let mut stdout = child.stdout.take().context("the verifier's output")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let (status, peak) = wait_with_peak(child.id())?;
    let seconds = start.elapsed().as_secs_f64();
    let text = reader.join().unwrap_or_default();
    let result = match serde_json::from_str::<serde_json::Value>(text.lines().next().unwrap_or_default()) {
        Ok(report) => {
            format!("{} {}", report["outcome"].as_str().unwrap_or("?"), report["reason"].as_str().unwrap_or(""))
                .trim()
                .to_owned()
        }
        Err(_) => format!("no report (the process ended with {status})"),
    };
    Ok(Row { name: name.to_owned(), bytes, seconds, peak_rss_bytes: peak, result })
}

/// Waits for the child `pid` and returns its wait status and peak resident memory in bytes.
fn wait_with_peak(pid: u32) -> Result<(i32, u64)> {
    let mut status = 0;
    // SAFETY: rusage is a plain C struct of integers, for which all zeros is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for; both pointers are to live locals.
    let waited = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    if waited < 0 {
        bail!("cannot wait for the verifier: {}", std::io::Error::last_os_error());
    }
    // On Linux ru_maxrss is in kilobytes.
    Ok((status, u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024))
}

/// This process's peak resident memory so far (VmHWM), in bytes; 0 if unknown.
fn peak_resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().trim_end_matches(" kB").to_owned()))
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// `dcert bench hostile-shapes DIR`: writes every crafted shape of `size` bytes into `dir`.
pub fn write_shapes(dir: &Path, size: usize) -> Result<()> {
    for shape in dcert_core::pdf::hostile::shapes(size) {
        let path = dir.join(format!("{}.pdf", shape.name));
        std::fs::write(&path, &shape.bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Measures the genuine certificate and every crafted shape of `options.size` bytes.
pub fn run(options: &Options<'_>) -> Result<Figures> {
    let dir = std::env::temp_dir().join(format!("dcert-bench-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = (|| {
        // Another process writes the files: a child started from this one reports this
        // process's peak memory as its own until it execs, so this one must stay small.
        let status = Command::new(std::env::current_exe().context("cannot find this program")?)
            .args(["bench", "hostile-shapes", "--size", &options.size.to_string()])
            .arg(&dir)
            .status()
            .context("cannot write the crafted files")?;
        if !status.success() {
            bail!("writing the crafted files failed: {status}");
        }
        let mut names: Vec<String> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".pdf").map(str::to_owned))
            .collect();
        names.sort();
        let floor = peak_resident_bytes();
        let genuine = measure(options, "genuine", options.genuine)?;
        let mut shapes = Vec::new();
        for name in &names {
            eprintln!("  {name}…");
            shapes.push(measure(options, name, &dir.join(format!("{name}.pdf")))?);
        }
        Ok(Figures { verifier: options.dcert.display().to_string(), floor_rss_bytes: floor, genuine, shapes })
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The figures as a table, with each file's memory and time as ratios of the genuine one's.
pub fn text(f: &Figures) -> String {
    let mb = |b: u64| b as f64 / (1 << 20) as f64;
    let g = &f.genuine;
    let mut out = format!(
        "Verifying crafted files with {} (each in its own process; no peak reads below {:.1} MB, the \
         measuring process's own)\n\n{:<30} {:>10} {:>9} {:>9} {:>8} {:>8} {:>8}  {}\n",
        f.verifier,
        mb(f.floor_rss_bytes),
        "file",
        "MB",
        "seconds",
        "peak MB",
        "time ×",
        "memory ×",
        "mem/size",
        "result"
    );
    for row in std::iter::once(g).chain(&f.shapes) {
        out.push_str(&format!(
            "{:<30} {:>10.2} {:>9.3} {:>9.1} {:>8.1} {:>8.2} {:>8.1}  {}\n",
            row.name,
            mb(row.bytes as u64),
            row.seconds,
            mb(row.peak_rss_bytes),
            row.seconds / g.seconds.max(1e-9),
            row.peak_rss_bytes as f64 / g.peak_rss_bytes.max(1) as f64,
            row.peak_rss_bytes as f64 / row.bytes.max(1) as f64,
            row.result
        ));
    }
    out
}
