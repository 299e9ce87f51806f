//! Lab 16 on its own; `lab run 16` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_16_cgroups::LAB)
}
