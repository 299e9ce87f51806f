//! `lab`: run, explain and check the container labs.
fn main() -> std::process::ExitCode {
    lab_runner::app::main()
}
