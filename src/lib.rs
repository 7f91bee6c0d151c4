//! The `attain` command line's library part: the guide's example as demo
//! data (used by `attain demo` and the end-to-end tests).

pub mod audit;
pub mod cli_error;
pub mod demo;
