//! Command-line arguments (clap derive) and their conversion to library options.
//! Nothing past [`Cli`] sees clap.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use calibset::{
    AuditOptions, BuildOptions, ExportFormat, IndexOptions, Layout, LinkMode, Shard, Thresholds,
};

/// Build reproducible INT8 calibration image sets from a TOML recipe.
#[derive(Debug, Parser)]
#[command(name = "calibset", version, about, long_about = None, color = clap::ColorChoice::Never)]
#[command(
    after_help = "Exit codes: 0 success, 1 quota shortfall or audit findings, 2 error, 130 interrupted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also print stage timings to stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a calibration set from a recipe.
    Build(BuildArgs),
    /// Validate a recipe and print what it asks for, without reading any image.
    Check(CheckArgs),
    /// Check a set already built against the recipe's model (`[model]` or
    /// --model): per-tensor ranges, their stability, the images that set
    /// them; --tables writes the range tables.
    Probe(ProbeArgs),
    /// Audit a pool (a recipe's, or folders): counts, duplicates, quality, skipped
    /// files, and whether the recipe can be filled. Writes nothing but the cache.
    Audit(AuditArgs),
    /// Measure a recipe's pool, or one shard of it, into a feature index
    /// (Parquet) that `build --index` and `audit --index` read instead of
    /// decoding.
    #[command(
        long_about = "Measure a recipe's pool, or one shard of it, into a feature index: \
                      DIR/part-<i>-of-<n>.parquet, one row per file with its content hash, \
                      perceptual hash, similarity signature, quality signals and histogram, \
                      readable by DuckDB, pandas, Polars and Spark.\n\n\
                      Split a large pool over n workers with --shard 0/n … --shard <n-1>/n \
                      (a file's shard is a hash of its path, stable as the pool grows), \
                      collect the parts in one folder, then `calibset build --index DIR`: \
                      nothing is decoded and the set is the same as a direct build's."
    )]
    Index(IndexArgs),
    /// Print a shell completion script on stdout.
    #[command(long_about = "Print a shell completion script on stdout.\n\n\
                      bash:       calibset completions bash > ~/.local/share/bash-completion/completions/calibset\n\
                      zsh:        calibset completions zsh > ~/.zfunc/_calibset   (with fpath+=(~/.zfunc) before compinit)\n\
                      fish:       calibset completions fish > ~/.config/fish/completions/calibset.fish\n\
                      powershell: calibset completions powershell >> $PROFILE")]
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout: calibset(1), or with a command
    /// name that command's page, calibset-build(1) and so on.
    #[command(
        long_about = "Print the man page (roff) on stdout: calibset(1), or with a command name \
                      that command's page, calibset-build(1) and so on.\n\n\
                      Read it at once with `calibset man | man -l -`, or install the pages:\n\
                      calibset man > ~/.local/share/man/man1/calibset.1\n\
                      calibset man build > ~/.local/share/man/man1/calibset-build.1"
    )]
    Man(ManArgs),
}

impl Command {
    /// Whether the command was asked for JSON output (`--json`).
    pub fn json(&self) -> bool {
        match self {
            Command::Build(a) => a.json,
            Command::Check(a) => a.json,
            Command::Probe(a) => a.json,
            Command::Audit(a) => a.json,
            Command::Index(a) => a.json,
            Command::Completions(_) | Command::Man(_) => false,
        }
    }
}

/// `calibset completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `calibset man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print [default: the calibset(1) overview].
    #[arg(value_name = "COMMAND", value_parser = ["build", "check", "probe", "audit", "index", "completions", "man"])]
    pub command: Option<String>,
}

/// Where the recipe comes from: `--recipe FILE` or a positional `RECIPE`, one
/// of the two; `-` is standard input.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct RecipeArg {
    /// The recipe file (TOML); `-` reads it from standard input (its relative
    /// paths are then relative to the current folder).
    #[arg(short, long, value_name = "FILE")]
    recipe: Option<PathBuf>,
    /// The recipe file, as with --recipe.
    #[arg(value_name = "RECIPE")]
    file: Option<PathBuf>,
}

impl RecipeArg {
    /// The recipe path as given (`-` for standard input).
    pub fn path(&self) -> &Path {
        self.recipe
            .as_deref()
            .or(self.file.as_deref())
            .expect("clap requires one of --recipe and RECIPE")
    }
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["recipe", "roots"])))]
pub struct AuditArgs {
    /// The recipe whose pool to audit; `-` reads it from standard input.
    #[arg(short, long, value_name = "FILE")]
    pub recipe: Option<PathBuf>,
    /// Folders to audit instead of a recipe (nothing is bucketed). A single
    /// `.toml` file here is taken as the recipe.
    #[arg(value_name = "FOLDER", conflicts_with = "recipe")]
    pub roots: Vec<PathBuf>,
    /// Print the audit as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained visual report to this HTML file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Duplicate groups to list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub groups: usize,
    /// Exit 1 when more than N files are skipped as unreadable.
    #[arg(long, value_name = "N")]
    pub max_issues: Option<usize>,
    /// Exit 1 when more than this share (0-1) of images duplicate another.
    #[arg(long, value_name = "SHARE")]
    pub max_duplicates: Option<f64>,
    /// Exit 1 when the recipe cannot be filled.
    #[arg(long)]
    pub require_fill: bool,
    /// Take measurements from this feature index (a folder of `calibset
    /// index` shards, or one shard file) instead of decoding.
    #[arg(long, value_name = "PATH", conflicts_with = "roots")]
    pub index: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// `calibset index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(flatten)]
    pub recipe: RecipeArg,
    /// The index folder; the shard is written there as part-<i>-of-<n>.parquet
    /// (replacing an earlier calibset index part of that name).
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,
    /// Index only shard I of N (0 <= I < N): the files whose path hashes to
    /// it [default: the whole pool, as 0/1].
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

impl IndexArgs {
    /// The library's options for this run.
    pub fn options(&self) -> IndexOptions {
        IndexOptions {
            out: self.out.clone(),
            shard: self.shard.unwrap_or(Shard::ALL),
            cache_dir: self.run.cache(),
        }
    }
}

/// Threads and cache, shared by the commands that read images.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Worker threads [default: all cores].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Do not read or write the feature cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Cache folder [default: $CALIBSET_CACHE_DIR, else $XDG_CACHE_HOME/calibset, else ~/.cache/calibset].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Skip (and report) images whose header declares more than N megapixels
    /// [default: the recipe's limits.max_megapixels, else 100].
    #[arg(long, value_name = "N", value_parser = megapixels)]
    pub max_megapixels: Option<u64>,
}

/// Parses a hand-off format name.
fn export_format(text: &str) -> Result<ExportFormat, String> {
    ExportFormat::parse(text).ok_or_else(|| {
        format!("unknown format `{text}`, expected one of list, npy, npz, raw, yolo, ort")
    })
}

/// Parses a positive number of megapixels into pixels.
fn megapixels(text: &str) -> Result<u64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 1e6 => Ok((v * 1e6).round() as u64),
        _ => Err(format!(
            "expected a number of megapixels above 0, not `{text}`"
        )),
    }
}

impl RunArgs {
    /// The cache folder to use, or `None` with `--no-cache`.
    pub fn cache(&self) -> Option<PathBuf> {
        if self.no_cache {
            None
        } else {
            self.cache_dir.clone().or_else(default_cache_dir)
        }
    }
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub recipe: RecipeArg,
    /// Output folder [default: the recipe's output.dir].
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// How files get into the output [default: the recipe's output.mode, else copy].
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Output arrangement [default: the recipe's output.layout, else by-bucket].
    #[arg(long, value_enum)]
    pub layout: Option<LayoutArg>,
    /// Seed for selection [default: the recipe's seed, else 0].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Plan and report only: write no set (the feature cache is still filled,
    /// and an --html report outside the output folder is written when asked
    /// for).
    #[arg(long)]
    pub dry_run: bool,
    /// Replace an earlier calibset output in the output folder (refused when it
    /// holds files calibset did not write).
    #[arg(long)]
    pub force: bool,
    /// Hand-off files for the quantizer, comma-separated: list, npy, npz, raw,
    /// yolo, ort [default: the recipe's [export] formats]. npy, npz, raw and
    /// ort need the recipe's [tensor].
    #[arg(long, value_name = "FORMATS", value_delimiter = ',', value_parser = export_format)]
    pub export: Option<Vec<ExportFormat>>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained visual report (contact sheets, duplicate
    /// groups, histograms) to this HTML file; inside the output folder, it is
    /// written with the set.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Take measurements from this feature index (a folder of `calibset
    /// index` shards, or one shard file) instead of decoding; files not in
    /// it are decoded, with a warning.
    #[arg(long, value_name = "PATH")]
    pub index: Option<PathBuf>,
    /// Check the set against this FP32 ONNX model (overrides `[model] path`):
    /// per-tensor ranges, their stability, the images that set them, and the
    /// range tables each toolchain imports.
    #[arg(long, value_name = "MODEL.onnx")]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub recipe: RecipeArg,
    /// The set's folder [default: the recipe's output.dir].
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The FP32 ONNX model [default: the recipe's model.path].
    #[arg(long, value_name = "MODEL.onnx")]
    pub model: Option<PathBuf>,
    /// Write ranges.json and the range tables (ort_calibration.json,
    /// ort_overrides.json, calib.cache, quantization_overrides.json) into
    /// this folder (created; existing files are not replaced).
    #[arg(long, value_name = "DIR")]
    pub tables: Option<PathBuf>,
    /// Seed of the stability halves [default: the recipe's seed].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Worker threads [default: all cores].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub recipe: RecipeArg,
    /// Print the resolved plan as JSON.
    #[arg(long)]
    pub json: bool,
    /// Check the recipe alone: do not look for its roots, manifest and
    /// annotations on disk (for templates).
    #[arg(long)]
    pub syntax_only: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Copy,
    Hardlink,
    Symlink,
}

impl From<ModeArg> for LinkMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Copy => LinkMode::Copy,
            ModeArg::Hardlink => LinkMode::Hardlink,
            ModeArg::Symlink => LinkMode::Symlink,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LayoutArg {
    ByBucket,
    Flat,
    Mirror,
}

impl From<LayoutArg> for Layout {
    fn from(l: LayoutArg) -> Self {
        match l {
            LayoutArg::ByBucket => Layout::ByBucket,
            LayoutArg::Flat => Layout::Flat,
            LayoutArg::Mirror => Layout::Mirror,
        }
    }
}

impl BuildArgs {
    /// The library's options for this build.
    pub fn options(&self) -> BuildOptions {
        BuildOptions {
            out: self.out.clone(),
            mode: self.mode.map(Into::into),
            layout: self.layout.map(Into::into),
            seed: self.seed,
            dry_run: self.dry_run,
            force: self.force,
            cache_dir: self.run.cache(),
            html: self.html.clone(),
            exports: self.export.clone(),
            index: self.index.clone(),
            model: self.model.clone(),
        }
    }
}

impl AuditArgs {
    /// The recipe to audit: `--recipe`, or a single `FOLDER` argument that is
    /// a `.toml` file (`calibset audit adas.toml`).
    pub fn recipe(&self) -> Option<&Path> {
        self.recipe.as_deref().or(match self.roots.as_slice() {
            [one] if is_toml_file(one) => Some(one.as_path()),
            _ => None,
        })
    }

    /// The library's options for this audit, with the cache in `cache_dir`.
    pub fn options<'a>(&'a self, cache_dir: Option<&'a std::path::Path>) -> AuditOptions<'a> {
        AuditOptions {
            cache_dir,
            groups: self.groups,
            thresholds: Thresholds {
                max_issues: self.max_issues,
                max_duplicate_share: self.max_duplicates,
                require_fill: self.require_fill,
            },
            html: self.html.as_deref(),
            index: self.index.as_deref(),
        }
    }
}

/// Whether `path` names a `.toml` file (any case) rather than a folder.
pub fn is_toml_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
        && !path.is_dir()
}

/// The default cache folder, from the environment.
pub fn default_cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("CALIBSET_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("calibset")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("calibset")))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn man_offers_a_page_for_every_command() {
        let cmd = Cli::command();
        let commands: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
        let man = cmd.find_subcommand("man").unwrap();
        let arg = man
            .get_arguments()
            .find(|a| a.get_id() == "command")
            .unwrap();
        let offered: Vec<String> = arg
            .get_possible_values()
            .iter()
            .map(|v| v.get_name().to_owned())
            .collect();
        assert_eq!(offered, commands);
    }

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
    }
}
