//! Compiles every `.proto` under `attain/` with protox (no protoc needed) and
//! writes the descriptor set that server reflection serves.

use std::{env, fs, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=attain");
    println!("cargo:rerun-if-changed=google");
    let mut files = Vec::new();
    collect(&PathBuf::from("attain"), &mut files)?;
    // The vendored HTTP annotations only enter as imports.
    collect(&PathBuf::from("google"), &mut Vec::new())?;
    files.sort();

    let mut compiler = protox::Compiler::new(["."])?;
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(&files)?;
    // Encoded by protox itself: prost_types would drop the extension options
    // (google.api.http) that the gateway's REST routes are read from.
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let descriptor_path = out.join("attain_descriptor.bin");
    fs::write(&descriptor_path, compiler.encode_file_descriptor_set())?;
    let fds = compiler.file_descriptor_set();

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
