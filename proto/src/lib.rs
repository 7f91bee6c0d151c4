//! Generated gRPC contracts of every Attain service.
//!
//! One crate for all protos so the services share message types
//! (`attain.common.v1.Money`, …) and one descriptor set for reflection.
#![allow(missing_docs, clippy::all, clippy::pedantic, clippy::nursery)]

include!(concat!(env!("OUT_DIR"), "/attain.rs"));

/// Encoded `FileDescriptorSet` of every Attain proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/attain_descriptor.bin"));
