//! Compiles `livegate/v1/*.proto` with protox (pure Rust, no system `protoc`) and generates the
//! prost messages and tonic services. The encoded descriptor set is written to OUT_DIR as well,
//! for gRPC server reflection.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["livegate/v1/liveness.proto", "livegate/v1/identity.proto"];
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(protos, ["."])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("livegate_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
