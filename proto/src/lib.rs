//! Livegate's public API, generated from `proto/livegate/v1/*.proto`.
//!
//! The `.proto` files are the source of truth; this crate only compiles them. Servers and clients
//! both depend on it, so they can never disagree about a field.

pub mod names;
pub mod rest;

pub mod v1 {
    tonic::include_proto!("livegate.v1");

    /// Encoded `FileDescriptorSet` of the API, for gRPC server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/livegate_descriptor.bin"));
}
