//! The gateway: what clients see. It will aggregate the three services for
//! dashboards and forward the cycle's calls with the caller's identity; for
//! now it authenticates and serves health and reflection, and its own RPCs
//! answer UNIMPLEMENTED (never invented data).

pub mod startup;
