//! The `lab` runner, built inside the tests package.
fn main() -> std::process::ExitCode {
    lab_runner::app::main()
}
