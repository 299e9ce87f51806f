//! Lab 13 on its own; `lab run 13` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_13_user::LAB)
}
