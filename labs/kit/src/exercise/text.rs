//! An exercise's text: one Markdown file that `lab exercise` prints and the
//! book includes, so the two cannot differ. Its shape:
//!
//! ```markdown
//! # A hostname of its own
//!
//! ## Task
//!
//! Give a long-running process the hostname `myhost`, ...
//!
//! ## Why it works            (any sections: the explanation)
//!
//! ## Hints
//!
//! 1. the second hint (the first depends on what the checks see)
//! 2. ...
//! ```

/// The text of the first `# ` heading.
pub fn title(text: &str) -> &str {
    text.lines().find_map(|l| l.strip_prefix("# ")).map_or("", str::trim)
}

/// The body of section `## name`, trimmed; `None` when there is none.
pub fn section(text: &str, name: &str) -> Option<String> {
    let mut lines = text
        .lines()
        .skip_while(|l| l.strip_prefix("## ").map(str::trim) != Some(name));
    lines.next()?;
    let body: Vec<&str> = lines.take_while(|l| !l.starts_with("## ")).collect();
    Some(body.join("\n").trim().to_string())
}

/// The items of a numbered list (`1. ...`), continuation lines joined.
pub fn list(body: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for line in body.lines() {
        let t = line.trim();
        let numbered = t
            .split_once(". ")
            .filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        match numbered {
            Some((_, rest)) if !line.starts_with(' ') => items.push(rest.trim().to_string()),
            _ if t.is_empty() => {}
            _ => {
                if let Some(last) = items.last_mut() {
                    last.push(' ');
                    last.push_str(t);
                }
            }
        }
    }
    items
}

/// Markdown made plain for a terminal: backticks and emphasis marks dropped.
pub fn plain(md: &str) -> String {
    md.replace('`', "").replace("**", "").replace("*", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# A title\n\nintro\n\n## Task\n\nDo `this`.\nAnd that.\n\n## Why\n\nbecause\n\n## Hints\n\n1. first\n   goes on\n2. second `x`\n\n10. tenth\n";

    #[test]
    fn sections_and_lists_parse() {
        assert_eq!(title(TEXT), "A title");
        assert_eq!(section(TEXT, "Task").as_deref(), Some("Do `this`.\nAnd that."));
        assert_eq!(section(TEXT, "Why").as_deref(), Some("because"));
        assert_eq!(section(TEXT, "Nope"), None);
        assert_eq!(
            list(&section(TEXT, "Hints").unwrap_or_default()),
            ["first goes on", "second `x`", "tenth"]
        );
        assert_eq!(plain("Do `this` **now**"), "Do this now");
    }
}
