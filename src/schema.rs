//! The layout version of calibset's JSON outputs: the build report (`--json`,
//! `report.json`), the audit and `check --json` carry it as `schema_version`.

/// Raised when a field of a JSON output changes meaning or goes away; new
/// fields do not raise it.
pub const SCHEMA_VERSION: u32 = 1;
