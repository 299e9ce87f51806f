//! Markdown for a terminal: a lab's `explain.md` parsed with pulldown-cmark
//! (CommonMark, with tables and strikethrough) and drawn as text wrapped to
//! a width. Emphasis is italic, strong is bold, code is cyan, links are OSC 8
//! hyperlinks on a terminal; without colour (a pipe, `--color never`,
//! `NO_COLOR`) the same layout comes as plain text, a link's URL in
//! brackets after its text. Lines break where the kit's wrapping breaks
//! them ([`lab_kit::render::break_offsets`]), measured with unicode-width.

use pulldown_cmark::{Alignment, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use textwrap::core::Fragment;
use unicode_width::UnicodeWidthStr;

/// How to draw.
#[derive(Debug, Clone, Copy)]
pub struct Look {
    /// Styles (bold, italic, colour). Without them the text is plain.
    pub color: bool,
    /// Links as OSC 8 hyperlinks (a terminal); otherwise the URL is printed.
    pub hyperlinks: bool,
    /// Columns to fill.
    pub width: usize,
}

/// The narrowest column text is wrapped to, however deep the nesting.
const MIN_WIDTH: usize = 20;

/// Draw `markdown` as text.
pub fn render(markdown: &str, look: &Look) -> String {
    let mut w = Writer::new(look);
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
    for event in parser {
        w.event(event);
    }
    w.flush_tight();
    w.out
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Style {
    bold: bool,
    italic: bool,
    underline: bool,
    strike: bool,
    code: bool,
    dim: bool,
}

#[derive(Debug, Clone)]
struct Span {
    text: String,
    style: Style,
    link: Option<String>,
}

/// A hard line break inside a paragraph.
const HARD_BREAK: &str = "\n";

#[derive(Debug)]
enum Container {
    Quote,
    Item { marker: String, started: bool },
}

impl Container {
    fn width(&self) -> usize {
        match self {
            Container::Quote => 2,
            Container::Item { marker, .. } => marker.width(),
        }
    }
}

#[derive(Debug, Default)]
struct Table {
    align: Vec<Alignment>,
    rows: Vec<Vec<Vec<Span>>>,
    head_rows: usize,
}

struct Writer<'a> {
    look: &'a Look,
    out: String,
    containers: Vec<Container>,
    /// The next number of each open list (`None`: a bullet list).
    lists: Vec<Option<u64>>,
    spans: Vec<Span>,
    style: Style,
    depth: Depth,
    link: Option<String>,
    link_start: usize,
    code: Option<String>,
    table: Option<Table>,
    heading: Option<HeadingLevel>,
    html: Option<String>,
    blank_pending: bool,
}

/// How deep each inline style is nested.
#[derive(Debug, Default)]
struct Depth {
    strong: usize,
    emphasis: usize,
    strike: usize,
}

impl<'a> Writer<'a> {
    fn new(look: &'a Look) -> Self {
        Writer {
            look,
            out: String::new(),
            containers: Vec::new(),
            lists: Vec::new(),
            spans: Vec::new(),
            style: Style::default(),
            depth: Depth::default(),
            link: None,
            link_start: 0,
            code: None,
            table: None,
            heading: None,
            html: None,
            blank_pending: false,
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                if let Some(code) = self.code.as_mut() {
                    code.push_str(&t);
                } else {
                    self.push_text(&t);
                }
            }
            Event::Code(t) => {
                let style = Style {
                    code: true,
                    ..self.style
                };
                self.push(&t, style);
            }
            Event::InlineMath(t) | Event::DisplayMath(t) => self.push_text(&t),
            Event::SoftBreak => self.push_text(" "),
            Event::HardBreak => self.push(HARD_BREAK, Style::default()),
            Event::Html(t) => match self.html.as_mut() {
                Some(html) => html.push_str(&t),
                None => self.push_text(&t),
            },
            Event::InlineHtml(_) => {}
            Event::Rule => {
                self.start_block();
                let rule = "─".repeat(self.content_width().min(72));
                let rule = sgr(&rule, DIM, self.look);
                self.line(&rule);
                self.blank_pending = true;
            }
            Event::FootnoteReference(name) => self.push_text(&format!("[{name}]")),
            Event::TaskListMarker(done) => self.push_text(if done { "[x] " } else { "[ ] " }),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => self.start_block(),
            Tag::Heading { level, .. } => {
                self.start_block();
                self.heading = Some(level);
            }
            Tag::BlockQuote(_) => {
                self.flush_tight();
                self.start_block();
                self.containers.push(Container::Quote);
            }
            Tag::CodeBlock(_) => {
                self.flush_tight();
                self.start_block();
                self.code = Some(String::new());
            }
            Tag::HtmlBlock => {
                self.flush_tight();
                self.html = Some(String::new());
            }
            Tag::List(first) => {
                self.flush_tight();
                self.start_block();
                self.lists.push(first);
            }
            Tag::Item => {
                let top = !self.containers.iter().any(|c| matches!(c, Container::Item { .. }));
                let indent = if top { "  " } else { "" };
                let bullet = if self.look.color { "•" } else { "-" };
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{indent}{}. ", *n - 1)
                    }
                    _ => format!("{indent}{bullet} "),
                };
                self.containers.push(Container::Item { marker, started: false });
            }
            Tag::Table(align) => {
                self.flush_tight();
                self.start_block();
                self.table = Some(Table {
                    align,
                    ..Table::default()
                });
            }
            Tag::TableHead | Tag::TableRow => {
                if let Some(t) = self.table.as_mut() {
                    t.rows.push(Vec::new());
                }
            }
            Tag::TableCell => self.spans.clear(),
            Tag::Emphasis => {
                self.depth.emphasis += 1;
                self.style.italic = true;
            }
            Tag::Strong => {
                self.depth.strong += 1;
                self.style.bold = true;
            }
            Tag::Strikethrough => {
                self.depth.strike += 1;
                self.style.strike = true;
            }
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                self.link = Some(dest_url.to_string());
                self.link_start = self.spans.len();
                self.style.underline = true;
            }
            Tag::FootnoteDefinition(name) => {
                self.start_block();
                self.push_text(&format!("[{name}] "));
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph | TagEnd::FootnoteDefinition => self.end_block(),
            TagEnd::Heading(_) => {
                self.end_block();
                self.heading = None;
            }
            TagEnd::HtmlBlock => {
                let html = self.html.take().unwrap_or_default();
                // An HTML comment is for the source's readers only; other
                // HTML is shown as it is written.
                if !html.trim_start().starts_with("<!--") {
                    self.start_block();
                    for l in html.lines() {
                        self.line(l);
                    }
                    self.blank_pending = true;
                }
            }
            TagEnd::BlockQuote(_) => {
                self.flush_tight();
                self.containers.pop();
                self.blank_pending = true;
            }
            TagEnd::CodeBlock => {
                let code = self.code.take().unwrap_or_default();
                for l in code.lines() {
                    let l = l.trim_end();
                    self.line(&format!("    {}", sgr(l, CYAN, self.look)));
                }
                self.blank_pending = true;
            }
            TagEnd::List(_) => {
                self.lists.pop();
                self.blank_pending = true;
            }
            TagEnd::Item => {
                self.flush_tight();
                self.containers.pop();
            }
            TagEnd::TableCell => {
                let cell = std::mem::take(&mut self.spans);
                if let Some(row) = self.table.as_mut().and_then(|t| t.rows.last_mut()) {
                    row.push(cell);
                }
            }
            TagEnd::TableHead => {
                if let Some(t) = self.table.as_mut() {
                    t.head_rows = t.rows.len();
                }
            }
            TagEnd::Table => {
                if let Some(t) = self.table.take() {
                    self.draw_table(&t);
                }
                self.blank_pending = true;
            }
            TagEnd::Emphasis => {
                self.depth.emphasis -= 1;
                self.style.italic = self.depth.emphasis > 0;
            }
            TagEnd::Strong => {
                self.depth.strong -= 1;
                self.style.bold = self.depth.strong > 0;
            }
            TagEnd::Strikethrough => {
                self.depth.strike -= 1;
                self.style.strike = self.depth.strike > 0;
            }
            TagEnd::Link | TagEnd::Image => {
                self.style.underline = false;
                if let Some(url) = self.link.take() {
                    let text: String = self.spans[self.link_start..].iter().map(|s| s.text.as_str()).collect();
                    let same = text == url || url.strip_prefix("mailto:") == Some(text.as_str());
                    if self.look.hyperlinks {
                        for s in &mut self.spans[self.link_start..] {
                            s.link = Some(url.clone());
                        }
                    } else if !same && !url.is_empty() {
                        let style = Style {
                            dim: true,
                            ..Style::default()
                        };
                        self.push(&format!(" ({url})"), style);
                    }
                }
            }
            _ => {}
        }
    }

    fn push_text(&mut self, text: &str) {
        self.push(text, self.style);
    }

    fn push(&mut self, text: &str, style: Style) {
        if text.is_empty() {
            return;
        }
        match self.spans.last_mut() {
            Some(last)
                if last.style == style && last.link.is_none() && text != HARD_BREAK && last.text != HARD_BREAK =>
            {
                last.text.push_str(text)
            }
            _ => self.spans.push(Span {
                text: text.to_string(),
                style,
                link: None,
            }),
        }
    }

    /// Before a block: the blank line that separates it from the one before.
    fn start_block(&mut self) {
        if self.blank_pending && !self.out.is_empty() {
            self.blank_line();
        }
        self.blank_pending = false;
    }

    fn end_block(&mut self) {
        let mut spans = std::mem::take(&mut self.spans);
        if let Some(level) = self.heading {
            for s in &mut spans {
                s.style.bold = true;
                s.style.underline |= level == HeadingLevel::H1;
            }
        }
        for l in wrap_spans(&spans, self.content_width(), self.look) {
            self.line(&l);
        }
        self.blank_pending = true;
    }

    /// The text of a tight list item (no paragraph of its own), before
    /// whatever block it holds next or at its end.
    fn flush_tight(&mut self) {
        if self.spans.iter().any(|s| !s.text.trim().is_empty()) {
            let spans = std::mem::take(&mut self.spans);
            for l in wrap_spans(&spans, self.content_width(), self.look) {
                self.line(&l);
            }
            self.blank_pending = false;
        }
        self.spans.clear();
    }

    fn content_width(&self) -> usize {
        let used: usize = self.containers.iter().map(Container::width).sum();
        self.look.width.saturating_sub(used).max(MIN_WIDTH)
    }

    fn quote_bar(&self) -> String {
        if self.look.color {
            sgr("│", DIM, self.look)
        } else {
            ">".to_string()
        }
    }

    /// An empty line: only the quotes' bars continue through it.
    fn blank_line(&mut self) {
        let bars: Vec<String> = self
            .containers
            .iter()
            .filter(|c| matches!(c, Container::Quote))
            .map(|_| self.quote_bar())
            .collect();
        self.out.push_str(&bars.join(" "));
        self.out.push('\n');
    }

    fn line(&mut self, content: &str) {
        let bar = self.quote_bar();
        let mut prefix = String::new();
        for c in &mut self.containers {
            match c {
                Container::Quote => {
                    prefix.push_str(&bar);
                    prefix.push(' ');
                }
                Container::Item { marker, started } => {
                    if *started {
                        prefix.push_str(&" ".repeat(marker.width()));
                    } else {
                        prefix.push_str(marker);
                        *started = true;
                    }
                }
            }
        }
        let line = format!("{prefix}{content}");
        self.out.push_str(line.trim_end_matches(' '));
        self.out.push('\n');
    }

    fn draw_table(&mut self, t: &Table) {
        let columns = t.rows.iter().map(Vec::len).max().unwrap_or(0);
        if columns == 0 {
            return;
        }
        const GAP: usize = 2;
        let natural: Vec<usize> = (0..columns)
            .map(|c| {
                t.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|cell| plain(cell).width())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let room = self.content_width().saturating_sub(GAP * (columns - 1));
        let widths = share(&natural, room);
        let look = self.look;
        let mut drawn: Vec<Vec<Vec<String>>> = Vec::new();
        for (i, row) in t.rows.iter().enumerate() {
            let cells = (0..columns)
                .map(|c| {
                    let mut spans = row.get(c).cloned().unwrap_or_default();
                    if i < t.head_rows {
                        for s in &mut spans {
                            s.style.bold = true;
                        }
                    }
                    wrap_spans(&spans, widths[c], look)
                })
                .collect();
            drawn.push(cells);
        }
        let tall = drawn.iter().skip(t.head_rows).any(|r| r.iter().any(|c| c.len() > 1));
        for (i, row) in drawn.iter().enumerate() {
            if tall && i > t.head_rows {
                self.blank_line();
            }
            let height = row.iter().map(Vec::len).max().unwrap_or(0).max(1);
            for k in 0..height {
                let mut line = String::new();
                for (c, cell) in row.iter().enumerate() {
                    let text = cell.get(k).map(String::as_str).unwrap_or("");
                    let pad = widths[c].saturating_sub(visible_width(text));
                    let align = t.align.get(c).copied().unwrap_or(Alignment::None);
                    let (left, right) = match align {
                        Alignment::Right => (pad, 0),
                        Alignment::Center => (pad / 2, pad - pad / 2),
                        Alignment::Left | Alignment::None => (0, pad),
                    };
                    if c > 0 {
                        line.push_str(&" ".repeat(GAP));
                    }
                    line.push_str(&" ".repeat(left));
                    line.push_str(text);
                    line.push_str(&" ".repeat(right));
                }
                self.line(&line);
            }
            if i + 1 == t.head_rows {
                let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                let rule = rule.join(&" ".repeat(GAP));
                let rule = sgr(&rule, DIM, look);
                self.line(&rule);
            }
        }
    }
}

/// Column widths for a table: each column its natural width when all fit;
/// otherwise the narrow columns keep theirs and the wide ones share the rest
/// evenly (and wrap).
fn share(natural: &[usize], room: usize) -> Vec<usize> {
    if natural.iter().sum::<usize>() <= room {
        return natural.to_vec();
    }
    let mut widths = vec![0; natural.len()];
    let mut order: Vec<usize> = (0..natural.len()).collect();
    order.sort_by_key(|&c| natural[c]);
    let mut left = room;
    for (k, &c) in order.iter().enumerate() {
        let fair = left / (order.len() - k);
        widths[c] = natural[c].min(fair).max(4);
        left = left.saturating_sub(widths[c]);
    }
    widths
}

fn plain(spans: &[Span]) -> String {
    spans
        .iter()
        .map(|s| if s.text == HARD_BREAK { " " } else { s.text.as_str() })
        .collect()
}

/// Columns a drawn line takes on the screen: escape sequences take none.
fn visible_width(text: &str) -> usize {
    textwrap::core::display_width(text)
}

/// A word of a paragraph and the spaces after it, by byte range.
#[derive(Debug)]
struct Piece {
    start: usize,
    word_end: usize,
    width: f64,
    space: f64,
}

impl Fragment for Piece {
    fn width(&self) -> f64 {
        self.width
    }
    fn whitespace_width(&self) -> f64 {
        self.space
    }
    fn penalty_width(&self) -> f64 {
        0.0
    }
}

/// Wrap styled text to `width` columns; each line comes with its styles.
fn wrap_spans(spans: &[Span], width: usize, look: &Look) -> Vec<String> {
    let mut lines = Vec::new();
    // Hard breaks end a line whatever its length.
    for segment in spans.split(|s| s.text == HARD_BREAK) {
        let mut text = String::new();
        let mut runs: Vec<(usize, usize, &Span)> = Vec::new();
        for s in segment {
            let start = text.len();
            text.push_str(&s.text);
            runs.push((start, text.len(), s));
        }
        let lead = text.len() - text.trim_start().len();
        let tail = text.trim_end().len();
        if lead >= tail {
            continue;
        }
        let mut cuts = lab_kit::render::break_offsets(&text[..tail]);
        cuts.retain(|&c| c > lead);
        cuts.push(tail);
        let mut pieces = Vec::new();
        let mut start = lead;
        for end in cuts {
            let chunk = &text[start..end];
            let word = chunk.trim_end_matches(' ');
            pieces.push(Piece {
                start,
                word_end: start + word.len(),
                width: word.width() as f64,
                space: (chunk.len() - word.len()) as f64,
            });
            start = end;
        }
        for line in textwrap::wrap_algorithms::wrap_first_fit(&pieces, &[width as f64]) {
            let (Some(first), Some(last)) = (line.first(), line.last()) else {
                continue;
            };
            lines.push(draw(&text, &runs, first.start, last.word_end, look));
        }
    }
    lines
}

/// `text[from..to]` with the styles of the runs it crosses.
fn draw(text: &str, runs: &[(usize, usize, &Span)], from: usize, to: usize, look: &Look) -> String {
    let mut out = String::new();
    for &(start, end, span) in runs {
        let (a, b) = (start.max(from), end.min(to));
        if a >= b {
            continue;
        }
        let piece = &text[a..b];
        if !look.color {
            out.push_str(piece);
            continue;
        }
        let st = span.style;
        let codes: Vec<&str> = [
            (st.bold, BOLD),
            (st.dim, DIM),
            (st.italic, ITALIC),
            (st.underline, UNDERLINE),
            (st.strike, STRIKE),
            (st.code, CYAN),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, code)| *code)
        .collect();
        let styled = sgr(piece, &codes.join(";"), look);
        match span.link.as_deref().filter(|_| look.hyperlinks) {
            // OSC 8: the terminal shows the text and opens the URL.
            Some(url) => out.push_str(&format!("\x1b]8;;{url}\x1b\\{styled}\x1b]8;;\x1b\\")),
            None => out.push_str(&styled),
        }
    }
    out
}

// SGR parameters (ECMA-48). The renderer writes them itself: whether to is
// the caller's choice (`Look::color`), not a process-wide switch.
const BOLD: &str = "1";
const DIM: &str = "2";
const ITALIC: &str = "3";
const UNDERLINE: &str = "4";
const STRIKE: &str = "9";
const CYAN: &str = "36";

/// `text` with the SGR `codes`, or as it is without colour.
fn sgr(text: &str, codes: &str, look: &Look) -> String {
    if !look.color || codes.is_empty() || text.is_empty() {
        text.to_string()
    } else {
        format!("\x1b[{codes}m{text}\x1b[0m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_look(width: usize) -> Look {
        Look {
            color: false,
            hyperlinks: false,
            width,
        }
    }

    fn styled_look(width: usize) -> Look {
        Look {
            color: true,
            hyperlinks: true,
            width,
        }
    }

    #[test]
    fn plain_text_drops_the_marks() {
        assert_eq!(
            render(
                "# Title\n\ntext `x` *em* **strong** ~~gone~~\n\n```\ncode  here\n```\n",
                &plain_look(80)
            ),
            "Title\n\ntext x em strong gone\n\n    code  here\n"
        );
    }

    #[test]
    fn paragraphs_are_reflowed_to_the_width() {
        let md = "one two three\nfour five six seven eight\n";
        assert_eq!(
            render(md, &plain_look(20)),
            "one two three four\nfive six seven eight\n"
        );
        // A path stays whole, even when it does not fit.
        assert_eq!(
            render("see /proc/self/ns/uts now", &plain_look(10)),
            "see\n/proc/self/ns/uts\nnow\n"
        );
    }

    #[test]
    fn lists_hang_and_nest() {
        let md = "- first item that wraps\n- second\n  1. inner\n  2. other\n\nafter\n";
        assert_eq!(
            render(md, &plain_look(20)),
            "  - first item that\n    wraps\n  - second\n    1. inner\n    2. other\n\nafter\n"
        );
    }

    #[test]
    fn block_quotes_and_links_without_a_terminal() {
        let md = "> quoted [the man page](https://man7.org/x.html) and <https://a.example>\n";
        assert_eq!(
            render(md, &plain_look(80)),
            "> quoted the man page (https://man7.org/x.html) and https://a.example\n"
        );
    }

    #[test]
    fn tables_align_and_wrap_their_widest_column() {
        let md = "| type | isolates |\n|------|----------|\n| `mnt` | the mount table |\n| `uts` | hostname and NIS domain name |\n";
        assert_eq!(
            render(md, &plain_look(80)),
            "type  isolates\n────  ────────────────────────────\nmnt   the mount table\nuts   hostname and NIS domain name\n"
        );
        assert_eq!(
            render(md, &plain_look(20)),
            "type  isolates\n────  ──────────────\nmnt   the mount\n      table\n\nuts   hostname and\n      NIS domain\n      name\n"
        );
    }

    #[test]
    fn styles_are_escape_codes_and_links_osc_8() {
        let out = render("*em* **st** [ln](https://x.example)", &styled_look(80));
        assert!(!out.contains('*'), "{out:?}");
        assert!(out.contains("\x1b[3mem\x1b[0m"), "italic: {out:?}");
        assert!(out.contains("\x1b[1mst\x1b[0m"), "bold: {out:?}");
        assert!(out.contains("\x1b]8;;https://x.example\x1b\\"), "hyperlink: {out:?}");
        assert!(!out.contains("(https://x.example)"), "{out:?}");
    }

    #[test]
    fn styled_lines_are_measured_without_their_escapes() {
        let md = "**aaaa bbbb** cccc *dddd eeee*";
        let out = render(md, &styled_look(20));
        assert!(out.contains('\x1b'), "{out:?}");
        let widths: Vec<usize> = out.lines().map(visible_width).collect();
        assert_eq!(widths, [19, 4], "{out:?}");
    }

    #[test]
    fn wide_characters_count_twice() {
        // 13 wide characters are 26 columns: two lines of 20.
        let out = render("名前空間はプロセスの集まり", &plain_look(20));
        assert!(out.lines().all(|l| l.width() <= 20), "{out}");
        assert_eq!(out.lines().count(), 2, "{out}");
    }
}
