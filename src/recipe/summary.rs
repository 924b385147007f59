//! What `calibset check` prints of a valid recipe: its totals, each bucket's
//! count, quotas and minimums, the camera minimum and balance, and the
//! effective preprocessing (`[tensor]`, defaults filled in), hand-off files
//! (`[export]`) and re-saves in one block — as text or JSON.

use std::io::{self, Write};

use super::Recipe;
use crate::select::Balance;
use crate::source::Location;

impl Recipe {
    /// Writes the recipe's plan as text: `recipe NAME is valid: N images`, then
    /// a line per bucket.
    pub fn write_check(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "recipe {} is valid: {} images", self.name, self.total)?;
        for (bucket, plan) in self.buckets.iter() {
            write!(w, "  {bucket:<11} {:>6}", plan.count)?;
            for (tag, n) in &plan.quota {
                write!(w, "  {tag}={n}")?;
            }
            for (tag, n) in &plan.min {
                write!(w, "  {tag}>={n}")?;
            }
            writeln!(w)?;
        }
        if self.camera.min > 0 {
            writeln!(w, "  each camera at least {}", self.camera.min)?;
        }
        self.write_handoff(w)
    }

    /// The camera balance, the effective `[tensor]` preprocessing, the
    /// `[export]` formats and `[resave]`, a line each.
    fn write_handoff(&self, w: &mut dyn Write) -> io::Result<()> {
        let balance = match &self.camera.balance {
            Balance::Weights(weights) => {
                let pairs: Vec<String> = weights.iter().map(|(c, x)| format!("{c}={x}")).collect();
                format!("weights {}", pairs.join(" "))
            }
            other => name(other),
        };
        writeln!(w, "cameras   balance {balance}")?;
        match &self.tensor {
            Some(t) => writeln!(w, "tensor    {}", t.describe())?,
            None => writeln!(w, "tensor    none")?,
        }
        if self.exports.formats.is_empty() {
            writeln!(w, "export    none")?;
        } else {
            let formats: Vec<&str> = self.exports.formats.iter().map(|f| f.as_str()).collect();
            let paths = if self.exports.absolute_paths {
                ", absolute paths"
            } else {
                ""
            };
            writeln!(w, "export    {}{paths}", formats.join(", "))?;
        }
        if let Some(c) = &self.classes {
            writeln!(
                w,
                "classes   require {} ({} image(s) of each, in bucket {})",
                c.require.join(", "),
                c.min,
                c.bucket
            )?;
        }
        if let Some(r) = &self.resave {
            let buckets: Vec<&str> = r.buckets.iter().map(|b| b.as_str()).collect();
            writeln!(
                w,
                "re-save   {:.0}% of {} as JPEG quality {}",
                r.share * 100.0,
                buckets.join(", "),
                r.quality
            )?;
        }
        Ok(())
    }

    /// The recipe's plan as pretty JSON, newline-terminated.
    pub fn check_json(&self) -> String {
        let json = serde_json::json!({
            "schema_version": crate::schema::SCHEMA_VERSION,
            "name": self.name,
            "seed": self.seed,
            "total": self.total,
            "buckets": self.buckets,
            "camera_min": self.camera.min,
            "camera_balance": self.camera.balance,
            "tensor": self.tensor,
            "exports": self.exports.formats,
            "dedup": self.dedup,
            "rules": self.rules.len(),
        });
        let mut s = serde_json::to_string_pretty(&json).expect("the plan serialises");
        s.push('\n');
        s
    }

    /// The recipe's inputs that are not there: roots that do not exist or are
    /// not folders, a manifest or annotation source that does not exist. One
    /// line each, naming the key. An object-store root is listed (one request,
    /// which also checks the credentials) and an object-store file asked for.
    pub fn missing_inputs(&self) -> Vec<String> {
        let mut missing = Vec::new();
        for root in &self.sources.roots {
            if let Some(why) = Location::of(root).missing_root() {
                missing.push(format!("sources.roots: {why}"));
            }
        }
        let files = [
            ("sources.manifest", self.sources.manifest.as_ref()),
            (
                "annotations.path",
                self.annotations.as_ref().map(|a| &a.path),
            ),
            (
                "annotations.images",
                self.annotations.as_ref().and_then(|a| a.images.as_ref()),
            ),
            (
                "annotations.names",
                self.annotations.as_ref().and_then(|a| a.names.as_ref()),
            ),
        ];
        for (key, path) in files.into_iter().filter_map(|(k, p)| Some((k, p?))) {
            if let Some(why) = Location::of(path).missing_file() {
                missing.push(format!("{key}: {why}"));
            }
        }
        missing
    }

    /// Refuses images whose header declares more than `pixels` (overrides
    /// `limits.max_megapixels`).
    pub fn set_max_pixels(&mut self, pixels: u64) {
        self.limits.max_pixels = pixels;
    }
}

/// A unit enum's serde name (`letterbox`, `nchw`).
fn name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
