//! `cargo xtask bench-vs-neon`: Strata's `strata bench` beside Neon's own code
//! (`../shared/tools/neonref bench`) and its peers (`../shared/tools/peerbench`: redb and
//! lsm-tree) on the same standard workload, run alternately in one session, reported as medians
//! and ratios of medians (issue 16).
//!
//! Each of the N rounds runs every available tool once (one run each, `--runs 1`), the order
//! rotating from round to round so no tool always runs first after a quiet spell; the figures
//! are the `name: value [unit]` lines of each tool's stdout (peerbench's are grouped under its
//! `engine:` lines). The table is printed as markdown and written as JSON (default
//! `target/bench-vs-neon.json`); `--baseline FILE` prints an earlier JSON's medians beside it.
//!
//! Opt-in: not part of `cargo xtask ci`, since figures from a loaded machine mean little. A
//! missing reference tool is reported and its columns stay empty; a missing `strata` fails.
//!
//! Invariant: unlike the other xtask commands, the tools' stdout is captured (it is parsed), and
//! their stderr goes to a log file per run under `target/bench-vs-neon/`, named when a run fails.
//! The command is printed before each run, as everywhere in xtask.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::command;

/// Rounds when `--runs` is not given (the issue asks for medians of at least 5).
pub const DEFAULT_RUNS: usize = 5;
/// Keys of the standard workload when `--keys` is not given (the table).
pub const DEFAULT_KEYS: u64 = 20_000;

/// Options of `bench-vs-neon`.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    /// Rounds (each tool once per round).
    pub runs: usize,
    /// K of the standard workload.
    pub keys: u64,
    /// Where the JSON table goes (default `target/bench-vs-neon.json`).
    pub json_out: Option<PathBuf>,
    /// Directory the tools write their files in (default: the system temp dir).
    pub dir: Option<PathBuf>,
    /// An earlier JSON table to show beside this run's.
    pub baseline: Option<PathBuf>,
}

impl Default for Args {
    fn default() -> Args {
        Args {
            runs: DEFAULT_RUNS,
            keys: DEFAULT_KEYS,
            json_out: None,
            dir: None,
            baseline: None,
        }
    }
}

/// Parses `[--runs N] [--keys K] [--json-out FILE] [--dir DIR] [--baseline FILE]`.
pub fn parse_args(args: &[String]) -> anyhow::Result<Args> {
    let mut out = Args::default();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{flag} needs a value"))
                .cloned()
        };
        match flag.as_str() {
            "--runs" => {
                let v = value()?;
                out.runs = v.parse().with_context(|| format!("--runs {v:?}"))?;
                if out.runs == 0 {
                    bail!("--runs must be at least 1");
                }
            }
            "--keys" => {
                let v = value()?;
                out.keys = v.parse().with_context(|| format!("--keys {v:?}"))?;
                if out.keys == 0 {
                    bail!("--keys must be at least 1");
                }
            }
            "--json-out" => out.json_out = Some(value()?.into()),
            "--dir" => out.dir = Some(value()?.into()),
            "--baseline" => out.baseline = Some(value()?.into()),
            other => bail!("unknown bench-vs-neon option `{other}`"),
        }
    }
    Ok(out)
}

/// Where a figure came from: Strata, Neon's code, or one of peerbench's engines.
pub type Source = String;
/// Every run's value of every figure, by source then figure name, in run order.
pub type Samples = BTreeMap<Source, BTreeMap<String, Vec<f64>>>;

/// The three programs, in the order of the first round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    Strata,
    Neonref,
    Peerbench,
}

const TOOLS: [Tool; 3] = [Tool::Strata, Tool::Neonref, Tool::Peerbench];

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Strata => "strata",
            Tool::Neonref => "neonref",
            Tool::Peerbench => "peerbench",
        }
    }

    /// The source name of figures without an `engine:` section.
    fn source(self) -> &'static str {
        match self {
            Tool::Strata => "strata",
            Tool::Neonref => "neon",
            Tool::Peerbench => "peer",
        }
    }
}

/// Runs the comparison; see the module docs.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let root = command::project_root();
    let tools_dir = root.join("../shared/tools");
    command::run(command::cargo().args(["build", "--release", "-p", "strata-cli"]))?;
    let strata = root.join("target/release/strata");
    if !strata.is_file() {
        bail!("{} is missing after the build", strata.display());
    }
    let mut paths = BTreeMap::new();
    paths.insert(Tool::Strata.name(), strata);
    for tool in [Tool::Neonref, Tool::Peerbench] {
        let path = tools_dir.join(tool.name());
        if path.is_file() {
            paths.insert(tool.name(), path);
        } else {
            eprintln!(
                "bench-vs-neon: {} not found at {}: its columns stay empty",
                tool.name(),
                path.display()
            );
        }
    }
    let log_dir = root.join("target/bench-vs-neon");
    std::fs::create_dir_all(&log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
    let base_dir = args.dir.clone().unwrap_or_else(std::env::temp_dir);

    let mut samples = Samples::new();
    for round in 0..args.runs {
        for i in 0..TOOLS.len() {
            let tool = TOOLS[(round + i) % TOOLS.len()];
            let Some(path) = paths.get(tool.name()) else {
                continue;
            };
            let log = log_dir.join(format!("{}-{}.log", tool.name(), round + 1));
            let stdout = run_tool(tool, path, args.keys, &base_dir, &log, round)?;
            let figures = parse_figures(&stdout, tool.source());
            if figures.is_empty() {
                bail!(
                    "{} printed no figures (stderr in {})",
                    tool.name(),
                    log.display()
                );
            }
            eprintln!(
                "bench-vs-neon: round {} of {}: {} gave {} figures",
                round + 1,
                args.runs,
                tool.name(),
                figures.len()
            );
            for (source, name, value) in figures {
                samples
                    .entry(source)
                    .or_default()
                    .entry(name)
                    .or_default()
                    .push(value);
            }
        }
    }

    let table = Table::new(&samples);
    let baseline = match &args.baseline {
        Some(path) => Some(load_baseline(path)?),
        None => None,
    };
    println!("{}", table.markdown(baseline.as_ref()));
    for goal in goals(&samples) {
        println!("{goal}");
    }
    let json_out = args
        .json_out
        .clone()
        .unwrap_or_else(|| root.join("target/bench-vs-neon.json"));
    let doc = table.json(&samples, args);
    std::fs::write(&json_out, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("writing {}", json_out.display()))?;
    eprintln!("bench-vs-neon: table written to {}", json_out.display());
    Ok(())
}

/// Runs one tool once in a fresh directory under `base_dir` (removed afterwards); returns its
/// stdout, its stderr going to `log`.
fn run_tool(
    tool: Tool,
    path: &Path,
    keys: u64,
    base_dir: &Path,
    log: &Path,
    round: usize,
) -> anyhow::Result<String> {
    let dir = base_dir.join(format!(
        "strata-bench-vs-neon-{}-{}-{}",
        std::process::id(),
        tool.name(),
        round
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let keys = keys.to_string();
    let dir_arg = dir.to_string_lossy().into_owned();
    let mut cmd = Command::new(path);
    match tool {
        Tool::Strata => cmd.args(["bench", "--keys", &keys, "--dir", &dir_arg]),
        Tool::Neonref => cmd.args(["bench", "--keys", &keys, "--runs", "1", "--dir", &dir_arg]),
        Tool::Peerbench => cmd.args(["--keys", &keys, "--runs", "1", "--dir", &dir_arg]),
    };
    let log_file =
        std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    cmd.stdout(Stdio::piped()).stderr(log_file);
    eprintln!("$ {}", command::display(&cmd));
    let output = cmd
        .output()
        .with_context(|| format!("could not start {}", path.display()));
    let removed = std::fs::remove_dir_all(&dir);
    let output = output?;
    if !output.status.success() {
        bail!(
            "{} failed ({}); its stderr is in {}",
            tool.name(),
            output.status,
            log.display()
        );
    }
    removed.with_context(|| format!("removing {}", dir.display()))?;
    String::from_utf8(output.stdout).with_context(|| format!("{} printed non-UTF-8", tool.name()))
}

/// The figures of one tool's stdout: every `name: number [unit]` line, under `default_source`,
/// or under the engine of the latest `engine: NAME ...` line (peerbench).
pub fn parse_figures(stdout: &str, default_source: &str) -> Vec<(Source, String, f64)> {
    let mut source = default_source.to_owned();
    let mut out = Vec::new();
    for line in stdout.lines() {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        let mut words = rest.split_whitespace();
        let Some(first) = words.next() else { continue };
        if name == "engine" {
            source = first.to_owned();
            continue;
        }
        let is_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if let (true, Ok(value)) = (is_name, first.parse::<f64>()) {
            if value.is_finite() {
                out.push((source.clone(), name.to_owned(), value));
            }
        }
    }
    out
}

/// The median of `values` (the mean of the middle two for an even count); `None` if empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => sorted.get(n / 2).copied(),
        _ => Some((sorted.get(n / 2 - 1)? + sorted.get(n / 2)?) / 2.0),
    }
}

/// Whether more of a figure is better (`Some(true)`), less is (`Some(false)`), or neither.
pub fn higher_is_better(name: &str) -> Option<bool> {
    if name == "file_size" || name.starts_with("file_size_") || name == "user_bytes" {
        None
    } else if name.contains("_us_per_")
        || name.ends_with("_total_s")
        || name.starts_with("max_rss")
        || name == "scan_warm_vs_memcpy"
    {
        Some(false)
    } else {
        Some(true)
    }
}

/// The peer figure doing the same work as Strata's `name` (peerbench's names differ for one).
pub fn peer_counterpart(name: &str) -> &str {
    match name {
        "lookup_warm_per_s" => "history_per_s",
        "lookup_warm_us_per_lookup" => "history_us_per_read",
        other => other,
    }
}

/// How much better Strata's median `strata` is than `reference` (above 1: Strata is better).
pub fn advantage(name: &str, strata: f64, reference: f64) -> Option<f64> {
    let ratio = match higher_is_better(name)? {
        true => strata / reference,
        false => reference / strata,
    };
    ratio.is_finite().then_some(ratio)
}

/// One figure's medians.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Strata's figure name.
    pub figure: String,
    /// Median per source, the peer engines under their counterpart figure.
    pub medians: BTreeMap<Source, f64>,
    /// Runs behind Strata's median.
    pub runs: usize,
}

/// Every figure Strata reported, with the references' medians beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Rows in the order of Strata's output names (sorted).
    pub rows: Vec<Row>,
    /// Peer engines seen (peerbench sections).
    pub peers: Vec<Source>,
}

impl Table {
    /// Builds the table from all runs' samples.
    pub fn new(samples: &Samples) -> Table {
        let empty = BTreeMap::new();
        let strata = samples.get("strata").unwrap_or(&empty);
        let neon = samples.get("neon").unwrap_or(&empty);
        let peers: Vec<Source> = samples
            .keys()
            .filter(|s| !matches!(s.as_str(), "strata" | "neon" | "peer"))
            .cloned()
            .collect();
        let rows = strata
            .iter()
            .filter_map(|(figure, values)| {
                let mut medians = BTreeMap::new();
                medians.insert("strata".to_owned(), median(values)?);
                if let Some(m) = neon.get(figure).and_then(|v| median(v)) {
                    medians.insert("neon".to_owned(), m);
                }
                for peer in &peers {
                    let found = samples
                        .get(peer)
                        .and_then(|p| p.get(peer_counterpart(figure)))
                        .and_then(|v| median(v));
                    if let Some(m) = found {
                        medians.insert(peer.clone(), m);
                    }
                }
                Some(Row {
                    figure: figure.clone(),
                    medians,
                    runs: values.len(),
                })
            })
            .collect();
        Table { rows, peers }
    }

    /// The table as markdown: Strata, Neon, the ratio, and each peer with its ratio; with a
    /// baseline, that run's Strata and Neon medians too.
    pub fn markdown(&self, baseline: Option<&Table>) -> String {
        let mut head = String::from("| figure | Strata | Neon | Strata/Neon |");
        for peer in &self.peers {
            let _ = write!(head, " {peer} | Strata/{peer} |");
        }
        if baseline.is_some() {
            head.push_str(" baseline Strata | baseline Neon |");
        }
        let cols = head.matches('|').count() - 1;
        let mut out = head;
        out.push('\n');
        out.push_str(&"| --- ".repeat(cols));
        out.push_str("|\n");
        for row in &self.rows {
            let strata = row.medians.get("strata").copied();
            let mut line = format!("| {} | {} |", row.figure, fmt_value(strata));
            for source in std::iter::once("neon").chain(self.peers.iter().map(String::as_str)) {
                let other = row.medians.get(source).copied();
                let ratio = strata
                    .zip(other)
                    .and_then(|(s, o)| advantage(&row.figure, s, o));
                let _ = write!(
                    line,
                    " {} | {} |",
                    fmt_value(other),
                    ratio.map_or_else(String::new, |r| format!("{r:.2}x"))
                );
            }
            if let Some(base) = baseline {
                let old = base.rows.iter().find(|r| r.figure == row.figure);
                let get = |s: &str| old.and_then(|r| r.medians.get(s).copied());
                let _ = write!(
                    line,
                    " {} | {} |",
                    fmt_value(get("strata")),
                    fmt_value(get("neon"))
                );
            }
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str(
            "\nRatios: above 1 means Strata is better (for times and memory the inverse ratio). \
             Peer figures are peerbench's counterparts (history_per_s for lookup_warm_per_s); \
             peer MB are user bytes, not file bytes.",
        );
        out
    }

    /// The table and every run's values as one JSON document.
    pub fn json(&self, samples: &Samples, args: &Args) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let ratios: BTreeMap<&str, f64> = row
                    .medians
                    .iter()
                    .filter(|(s, _)| s.as_str() != "strata")
                    .filter_map(|(s, o)| {
                        let strata = *row.medians.get("strata")?;
                        Some((s.as_str(), advantage(&row.figure, strata, *o)?))
                    })
                    .collect();
                json!({ "figure": row.figure, "runs": row.runs, "medians": row.medians, "advantage": ratios })
            })
            .collect();
        json!({
            "unix_time": SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            "machine": machine(),
            "keys": args.keys,
            "runs": args.runs,
            "rows": rows,
            "samples": samples,
        })
    }

    /// Rebuilds the medians of a table written by [`Table::json`].
    pub fn from_json(doc: &Value) -> anyhow::Result<Table> {
        let rows = doc
            .get("rows")
            .and_then(Value::as_array)
            .context("no `rows` array")?;
        let mut peers = Vec::new();
        let rows = rows
            .iter()
            .map(|row| {
                let figure = row
                    .get("figure")
                    .and_then(Value::as_str)
                    .context("a row without `figure`")?
                    .to_owned();
                let medians: BTreeMap<Source, f64> = row
                    .get("medians")
                    .and_then(Value::as_object)
                    .context("a row without `medians`")?
                    .iter()
                    .filter_map(|(s, v)| Some((s.clone(), v.as_f64()?)))
                    .collect();
                for s in medians.keys() {
                    if s != "strata" && s != "neon" && !peers.contains(s) {
                        peers.push(s.clone());
                    }
                }
                let runs = row.get("runs").and_then(Value::as_u64).unwrap_or(0);
                Ok(Row {
                    figure,
                    medians,
                    runs: usize::try_from(runs).unwrap_or(0),
                })
            })
            .collect::<anyhow::Result<Vec<Row>>>()?;
        peers.sort();
        Ok(Table { rows, peers })
    }
}

fn load_baseline(path: &Path) -> anyhow::Result<Table> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Table::from_json(&doc)
        .with_context(|| format!("{} is not a bench-vs-neon table", path.display()))
}

fn fmt_value(value: Option<f64>) -> String {
    match value {
        None => "—".to_owned(),
        Some(v) if v.abs() >= 1e6 => format!("{:.2} M", v / 1e6),
        Some(v) if v.abs() >= 1e4 => format!("{:.1} k", v / 1e3),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.2}"),
    }
}

/// The machine the run was on: CPU model, logical CPUs, kernel.
fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown", |(_, m)| m.trim());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    json!({
        "arch": std::env::consts::ARCH,
        "cpu": model,
        "cpus": std::thread::available_parallelism().map_or(0, usize::from),
        "kernel": kernel.trim(),
    })
}

/// The goals, each as one `goal: ... met|NOT met|unknown` line.
pub fn goals(samples: &Samples) -> Vec<String> {
    let med = |source: &str, figure: &str| {
        samples
            .get(source)
            .and_then(|s| s.get(figure))
            .and_then(|v| median(v))
    };
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let line = |what: &str, value: Option<f64>, target: f64, unit: &str| match value {
        Some(v) if v >= target => {
            format!("goal: {what}: {v:.2}{unit} (want >= {target}{unit}) met")
        }
        Some(v) => format!("goal: {what}: {v:.2}{unit} (want >= {target}{unit}) NOT met"),
        None => format!("goal: {what}: unknown (figure missing)"),
    };
    let scan_vs_memcpy = med("strata", "scan_warm_vs_memcpy").map(|r| 2.0 / r);
    let write_worst = samples
        .get("strata")
        .and_then(|s| s.get("write_mb_per_s"))
        .zip(samples.get("neon").and_then(|s| s.get("write_mb_per_s")))
        .and_then(|(s, n)| s.iter().zip(n).map(|(s, n)| s / n).min_by(f64::total_cmp));
    vec![
        line(
            "lookup_warm_per_s / Neon",
            ratio(
                med("strata", "lookup_warm_per_s"),
                med("neon", "lookup_warm_per_s"),
            ),
            3.0,
            "x",
        ),
        line(
            "lookup_warm_per_s / redb history_per_s",
            ratio(
                med("strata", "lookup_warm_per_s"),
                med("redb", "history_per_s"),
            ),
            1.0,
            "x",
        ),
        line(
            "lookup_cold_per_s / Neon",
            ratio(
                med("strata", "lookup_cold_per_s"),
                med("neon", "lookup_cold_per_s"),
            ),
            3.0,
            "x",
        ),
        line(
            "scan_warm_entries_per_s / Neon",
            ratio(
                med("strata", "scan_warm_entries_per_s"),
                med("neon", "scan_warm_entries_per_s"),
            ),
            3.0,
            "x",
        ),
        line(
            "2 / (memcpy_mb_per_s / scan_warm_mb_per_s) (warm scan within 2x of memcpy)",
            scan_vs_memcpy,
            1.0,
            "",
        ),
        line(
            "get_latest_per_s / redb get_latest_per_s",
            ratio(
                med("strata", "get_latest_per_s"),
                med("redb", "get_latest_per_s"),
            ),
            1.0,
            "x",
        ),
        line("write_mb_per_s / Neon, worst round", write_worst, 1.0, "x"),
        line(
            "lookup_warm_scale_2task",
            med("strata", "lookup_warm_scale_2task"),
            1.8,
            "x",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    const PEER_OUT: &str = "workload: K=1000 R=10\nengine: redb 4.6.0\nhistory_per_s: 905165 reads/s\n\
        get_latest_per_s: 1662234 reads/s\nengine: lsm-tree 3.1.10\nhistory_per_s: 170014 reads/s\n";

    #[test]
    fn args_parse_and_reject() {
        let args = parse_args(&strings(&[
            "--runs",
            "3",
            "--keys",
            "500",
            "--json-out",
            "x.json",
        ]))
        .unwrap();
        assert_eq!(args.runs, 3);
        assert_eq!(args.keys, 500);
        assert_eq!(args.json_out, Some(PathBuf::from("x.json")));
        assert_eq!(parse_args(&[]).unwrap(), Args::default());
        assert!(parse_args(&strings(&["--runs"])).is_err());
        assert!(parse_args(&strings(&["--runs", "0"])).is_err());
        assert!(parse_args(&strings(&["--keys", "many"])).is_err());
        assert!(parse_args(&strings(&["--fast"])).is_err());
    }

    #[test]
    fn figures_parse_with_and_without_units_and_engines() {
        let strata = parse_figures(
            "lookup_warm_per_s: 236000 lookups/s\nwrite_mb_per_s: 1921.5 MB/s\n",
            "strata",
        );
        assert_eq!(
            strata,
            vec![
                ("strata".into(), "lookup_warm_per_s".into(), 236000.0),
                ("strata".into(), "write_mb_per_s".into(), 1921.5),
            ]
        );
        let neon = parse_figures("lookup_warm_per_s: 133000\nbench: not a figure\n", "neon");
        assert_eq!(
            neon,
            vec![("neon".into(), "lookup_warm_per_s".into(), 133000.0)]
        );
        let peer = parse_figures(PEER_OUT, "peer");
        assert_eq!(peer.len(), 3);
        assert_eq!(peer[0], ("redb".into(), "history_per_s".into(), 905165.0));
        assert_eq!(
            peer[2],
            ("lsm-tree".into(), "history_per_s".into(), 170014.0)
        );
        // Lines that are not figures: text values, odd names, NaN.
        assert!(parse_figures("Name: 3\nx y: 4\nz: nan\nw: abc\n", "s").is_empty());
    }

    #[test]
    fn medians_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn advantage_inverts_for_times_and_memory() {
        assert_eq!(advantage("lookup_warm_per_s", 300.0, 100.0), Some(3.0));
        assert_eq!(advantage("write_total_s", 1.0, 2.0), Some(2.0));
        assert_eq!(advantage("max_rss_mb", 100.0, 50.0), Some(0.5));
        assert_eq!(advantage("file_size", 1.0, 2.0), None);
        assert_eq!(advantage("lookup_warm_per_s", 1.0, 0.0), None);
    }

    fn samples() -> Samples {
        let mut s = Samples::new();
        let mut add = |src: &str, fig: &str, vals: &[f64]| {
            s.entry(src.to_owned())
                .or_default()
                .insert(fig.to_owned(), vals.to_vec());
        };
        add("strata", "lookup_warm_per_s", &[400.0, 300.0, 500.0]);
        add("strata", "write_mb_per_s", &[10.0, 20.0, 30.0]);
        add("strata", "lookup_warm_scale_2task", &[1.9, 1.7, 1.85]);
        add("neon", "lookup_warm_per_s", &[100.0, 90.0, 110.0]);
        add("neon", "write_mb_per_s", &[5.0, 25.0, 5.0]);
        add("redb", "history_per_s", &[500.0, 500.0, 500.0]);
        s
    }

    #[test]
    fn table_pairs_counterparts_and_roundtrips_through_json() {
        let table = Table::new(&samples());
        assert_eq!(table.peers, vec!["redb".to_owned()]);
        let row = table
            .rows
            .iter()
            .find(|r| r.figure == "lookup_warm_per_s")
            .unwrap();
        assert_eq!(row.medians.get("strata"), Some(&400.0));
        assert_eq!(row.medians.get("neon"), Some(&100.0));
        assert_eq!(row.medians.get("redb"), Some(&500.0));
        let md = table.markdown(None);
        assert!(
            md.contains("| lookup_warm_per_s | 400 | 100 | 4.00x | 500 | 0.80x |"),
            "{md}"
        );
        let doc = table.json(&samples(), &Args::default());
        let back = Table::from_json(&doc).unwrap();
        assert_eq!(back, table);
        assert!(table.markdown(Some(&back)).contains("baseline Strata"));
        assert!(Table::from_json(&json!({"rows": 3})).is_err());
    }

    #[test]
    fn goals_say_met_and_not_met() {
        let goals = goals(&samples());
        let find = |what: &str| goals.iter().find(|g| g.contains(what)).unwrap().clone();
        assert!(
            find("lookup_warm_per_s / Neon").ends_with(" met"),
            "{goals:?}"
        );
        assert!(find("redb history").ends_with("NOT met"), "{goals:?}");
        // Round 2: 20 MB/s against Neon's 25.
        assert!(find("worst round").contains("0.80x"), "{goals:?}");
        assert!(find("scale_2task").contains("1.85x"), "{goals:?}");
        assert!(find("lookup_cold").contains("unknown"), "{goals:?}");
    }
}
