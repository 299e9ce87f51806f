//! Lab 15 on its own; `lab run 15` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_15_time::LAB)
}
