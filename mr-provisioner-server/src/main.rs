//! The `mr-provisioner` binary: `serve`, `db`, `user`, `token` and `inventory` commands.

mod cli;

use std::process::ExitCode;

use clap::Parser;

// mimalloc: the server allocates and frees many small objects per request (rows, JSON), on
// several threads; glibc's allocator spent a fifth of the time of a machine listing.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // File I/O (TFTP and HTTP boot) runs on the blocking pool; tokio's default of 512
    // threads let a burst of boot requests grow the process to hundreds of threads, each
    // with its stack, for no gain on a machine of a few cores.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(64)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
