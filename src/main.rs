fn main() -> std::process::ExitCode {
    simrun::cli::main_with_args(std::env::args_os().collect())
}
