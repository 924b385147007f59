//! CLI tests: the real `calibset` binary on image pools the tests generate.

mod annotations;
mod audit;
mod build;
mod check;
mod faults;
mod filters;
mod fixture;
mod handoff;
#[cfg(feature = "parquet")]
mod index;
mod invocation;
mod json;
#[cfg(feature = "model")]
mod model;
mod readme;
mod recipes;
#[cfg(feature = "s3")]
mod s3;
mod safety;
mod sequences;
mod snapshots;
#[cfg(not(all(feature = "s3", feature = "parquet", feature = "model")))]
mod without;
