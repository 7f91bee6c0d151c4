//! Compiles every `.proto` under `attain/` with protox (no protoc needed) and
//! writes the descriptor set that server reflection serves.

use std::{env, fs, path::PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=attain");
    let mut files = Vec::new();
    collect(&PathBuf::from("attain"), &mut files)?;
    files.sort();

    let fds = protox::compile(&files, ["."])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let descriptor_path = out.join("attain_descriptor.bin");
    fs::write(&descriptor_path, fds.encode_to_vec())?;

    tonic_prost_build::configure()
        .file_descriptor_set_path(&descriptor_path)
        .skip_protoc_run()
        // Services grow RPC by RPC; an unimplemented one answers UNIMPLEMENTED.
        .generate_default_stubs(true)
        .include_file("attain.rs")
        .compile_fds(fds)?;
    Ok(())
}

fn collect(dir: &PathBuf, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            println!("cargo:rerun-if-changed={}", path.display());
            files.push(path);
        }
    }
    Ok(())
}
