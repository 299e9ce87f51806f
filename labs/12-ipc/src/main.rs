//! Lab 12 on its own; `lab run 12` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_12_ipc::LAB)
}
