//! Lab 14 on its own; `lab run 14` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_14_cgroupns::LAB)
}
