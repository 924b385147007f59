//! CLI tests: the real `calibset` binary on image pools the tests generate.

mod annotations;
mod audit;
mod build;
mod check;
mod faults;
mod filters;
mod fixture;
mod handoff;
mod index;
mod invocation;
mod json;
mod model;
mod readme;
mod recipes;
mod s3;
mod safety;
mod sequences;
mod snapshots;
