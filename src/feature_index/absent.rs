//! The Parquet half of [`super`] in a calibset built without the Cargo
//! feature `parquet`: no index is written or opened.

use std::fs::File;
use std::path::Path;

use super::{IndexError, Row};

/// Whether this calibset reads and writes indexes: it does not.
pub(crate) fn available(path: &Path) -> Result<(), IndexError> {
    Err(IndexError::NotBuilt {
        path: path.to_owned(),
    })
}

/// Never called: `calibset index` asks [`available`] before it measures.
pub(super) fn write(_file: File, _rows: &[Row], _meta: (&str, String)) -> Result<(), String> {
    Err("no Parquet support".to_owned())
}

/// An opened index file, which this calibset cannot have.
pub(super) enum Reader {}

impl Reader {
    /// Never succeeds: [`available`] refuses first.
    pub(super) fn open(_bytes: Vec<u8>) -> Result<Reader, String> {
        Err("no Parquet support".to_owned())
    }

    pub(super) fn meta(&self, _key: &str) -> Option<&str> {
        match *self {}
    }

    pub(super) fn rows(&self) -> Result<Vec<Row>, String> {
        match *self {}
    }
}
