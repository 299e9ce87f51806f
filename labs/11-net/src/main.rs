//! Lab 11 on its own; `lab run 11` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_11_net::LAB)
}
