//! Lab 08 on its own; `lab run 08` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_08_pid::LAB)
}
