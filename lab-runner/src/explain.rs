//! `lab explain`: a lab's Markdown, drawn for a terminal.

use colored::Colorize;

/// Render the lab's Markdown for a terminal: headings bold, `code` highlighted.
pub fn render(markdown: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            out.push_str(&format!("    {}\n", line.cyan()));
        } else if let Some(h) = line.strip_prefix('#') {
            out.push_str(&format!("{}\n", h.trim_start_matches('#').trim().bold().underline()));
        } else {
            out.push_str(&inline_code(line));
            out.push('\n');
        }
    }
    out
}

fn inline_code(line: &str) -> String {
    let mut out = String::new();
    for (i, part) in line.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&part.cyan().to_string());
        } else {
            out.push_str(part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn drops_fences_and_marks() {
        colored::control::set_override(false);
        assert_eq!(
            super::render("# Title\ntext `x`\n```\ncode\n```\n"),
            "Title\ntext x\n    code\n"
        );
    }
}
