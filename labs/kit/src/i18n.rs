//! Japanese for what people read; English stays the source of truth.
//!
//! Catalogs are gettext PO files beside what they translate
//! (`labs/NN-slug/ja.po`, `labs/kit/ja.po`, `lab-runner/ja.po`,
//! `exercises/ja.po`), embedded with `include_str!` and parsed with `polib`.
//! They are keyed by the English text itself, so a changed English string no
//! longer finds its old translation (and the completeness test,
//! `tests/tests/i18n.rs`, calls that entry stale).
//!
//! Labs speak English on the wire (the JSON events): text is translated where
//! it is drawn for a person ([`crate::render::Renderer`]) or, for a report in
//! a machine format, only when `--lang` was given ([`translate_report`]).
//! Dynamic text (a check name built with `format!`) is matched against
//! template entries: a msgid with placeholders (`{}` or `{name}`), each
//! standing for any non-empty run of text, whose msgstr uses the same
//! placeholders. Exact entries are tried first, then templates; the text a
//! placeholder stood for is itself translated when a catalog knows it (a
//! reason inside a reason), and otherwise kept as it is (a path, a call).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::decl::LabDecl;
use crate::event::LabReport;

/// A language of the suite's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// English, the source text.
    En,
    /// Japanese.
    Ja,
}

static LANG: AtomicU8 = AtomicU8::new(0);

/// Choose the language of this process's text.
pub fn set(lang: Lang) {
    LANG.store(lang as u8, Ordering::Relaxed);
}

/// The language of this process's text (English until [`set`]).
pub fn current() -> Lang {
    if LANG.load(Ordering::Relaxed) == Lang::Ja as u8 {
        Lang::Ja
    } else {
        Lang::En
    }
}

/// The language the locale asks for, as POSIX reads it: the first
/// non-empty of `LC_ALL`, `LC_MESSAGES` and `LANG`; Japanese when it starts
/// with `ja` (`ja_JP.UTF-8`, `ja`), else English.
pub fn from_locale(var: impl Fn(&str) -> Option<String>) -> Lang {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .find_map(|name| var(name).filter(|v| !v.is_empty()))
        .map_or(Lang::En, |v| if v.starts_with("ja") { Lang::Ja } else { Lang::En })
}

/// [`from_locale`] of this process's environment.
pub fn from_env() -> Lang {
    from_locale(|name| std::env::var(name).ok())
}

/// One piece of a msgid: literal text or a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text that must match as it is.
    Text(String),
    /// `{}` (empty name) or `{name}`.
    Hole(String),
}

/// `text` cut into literal text and placeholders (`{}`, `{name}`: ASCII
/// letters, digits and `_` between braces; any other brace is text).
pub fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if after[name_len..].starts_with('}') {
            lit.push_str(&rest[..open]);
            if !lit.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut lit)));
            }
            out.push(Piece::Hole(after[..name_len].to_string()));
            rest = &after[name_len + 1..];
        } else {
            lit.push_str(&rest[..=open]);
            rest = after;
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        out.push(Piece::Text(lit));
    }
    out
}

/// The placeholders of `text`, in order (`{}` as an empty name).
pub fn placeholders(text: &str) -> Vec<String> {
    pieces(text)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Hole(n) => Some(n),
            Piece::Text(_) => None,
        })
        .collect()
}

/// Whether `text` has a placeholder: a template entry.
pub fn is_template(text: &str) -> bool {
    pieces(text).iter().any(|p| matches!(p, Piece::Hole(_)))
}

/// What each placeholder of `pattern` stood for in `text`, or `None` when
/// `text` is no instance of `pattern`. A placeholder takes the shortest run
/// that lets the rest match.
pub fn match_template<'t>(pattern: &[Piece], text: &'t str) -> Option<Vec<&'t str>> {
    match_template_all(pattern, text, 1).pop()
}

/// A trailing placeholder after a space (`note {}`) never stands for
/// nothing: `note ` is no instance of it.
fn empty_tail_refused(pattern: &[Piece], text: &str) -> bool {
    match pattern {
        [.., Piece::Text(t), Piece::Hole(_)] => t.ends_with(char::is_whitespace) && text.ends_with(t.as_str()),
        _ => false,
    }
}

/// Every way `text` is an instance of `pattern` (at most `limit`), shortest
/// runs first: a glue template (`{}; {}`) may join parts that hold its own
/// glue, and only one of the splits has parts a catalog knows.
pub fn match_template_all<'t>(pattern: &[Piece], text: &'t str, limit: usize) -> Vec<Vec<&'t str>> {
    fn go<'t>(pattern: &[Piece], text: &'t str, out: &mut Vec<&'t str>, all: &mut Vec<Vec<&'t str>>, limit: usize) {
        if all.len() >= limit {
            return;
        }
        match pattern.split_first() {
            None => {
                if text.is_empty() {
                    all.push(out.clone());
                }
            }
            Some((Piece::Text(t), rest)) => {
                if let Some(r) = text.strip_prefix(t.as_str()) {
                    go(rest, r, out, all, limit);
                }
            }
            // A trailing placeholder takes the rest, even none of it where
            // it is glued to the text before (`…= 0){from}`).
            Some((Piece::Hole(_), [])) if text.is_empty() => {
                out.push(text);
                all.push(out.clone());
                out.pop();
            }
            Some((Piece::Hole(_), rest)) => {
                for (i, c) in text.char_indices() {
                    let end = i + c.len_utf8();
                    // A following literal must start right after the run.
                    if let Some(Piece::Text(t)) = rest.first()
                        && !text[end..].starts_with(t.as_str())
                    {
                        continue;
                    }
                    out.push(&text[..end]);
                    go(rest, &text[end..], out, all, limit);
                    out.pop();
                }
            }
        }
    }
    let mut all = Vec::new();
    if !empty_tail_refused(pattern, text) {
        go(pattern, text, &mut Vec::new(), &mut all, limit);
    }
    all
}

/// `msgstr` with its placeholders replaced: the n-th `{}` takes the value
/// of the msgid's n-th `{}` (named ones in between do not count), `{name}`
/// the value of the msgid's placeholder of that name.
pub fn fill(msgid_holes: &[String], msgstr: &str, values: &[String]) -> String {
    let unnamed: Vec<usize> = (0..msgid_holes.len()).filter(|&i| msgid_holes[i].is_empty()).collect();
    let mut next = 0;
    let mut out = String::new();
    for p in pieces(msgstr) {
        match p {
            Piece::Text(t) => out.push_str(&t),
            Piece::Hole(name) => {
                let at = if name.is_empty() {
                    next += 1;
                    unnamed.get(next - 1).copied().unwrap_or(usize::MAX)
                } else {
                    msgid_holes.iter().position(|n| *n == name).unwrap_or(usize::MAX)
                };
                match values.get(at) {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(&name);
                        out.push('}');
                    }
                }
            }
        }
    }
    out
}

/// One entry of a catalog as read from its PO file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The English.
    pub msgid: String,
    /// The Japanese (empty: not yet translated).
    pub msgstr: String,
    /// Marked `#, fuzzy` (its English changed): not used until reviewed.
    pub fuzzy: bool,
}

#[derive(Debug)]
struct Template {
    pattern: Vec<Piece>,
    holes: Vec<String>,
    msgstr: String,
    literal: usize,
}

/// A parsed catalog: exact entries and templates, untranslated ones left out.
#[derive(Debug, Default)]
pub struct Catalog {
    exact: HashMap<String, String>,
    templates: Vec<Template>,
    entries: Vec<Entry>,
}

/// Why a catalog could not be read.
#[derive(Debug, thiserror::Error)]
#[error("malformed PO catalog: {0}")]
pub struct CatalogError(String);

impl Catalog {
    /// Parse a PO file's text (with its header entry).
    pub fn parse(po: &str) -> Result<Catalog, CatalogError> {
        let parsed = polib::po_file::parse_from_reader(po.as_bytes()).map_err(|e| CatalogError(e.to_string()))?;
        let mut c = Catalog::default();
        for m in parsed.messages() {
            let msgid = m.msgid().to_string();
            let msgstr = m.msgstr().map(str::to_string).unwrap_or_default();
            c.entries.push(Entry {
                msgid: msgid.clone(),
                msgstr: msgstr.clone(),
                fuzzy: m.is_fuzzy(),
            });
            if msgstr.is_empty() || m.is_fuzzy() {
                continue;
            }
            let pattern = pieces(&msgid);
            if pattern.iter().any(|p| matches!(p, Piece::Hole(_))) {
                let literal = pattern
                    .iter()
                    .map(|p| match p {
                        Piece::Text(t) => t.len(),
                        Piece::Hole(_) => 0,
                    })
                    .sum();
                // Also by its own text, for `tr`/`trf` of the template itself.
                c.exact.insert(msgid.clone(), msgstr.clone());
                c.templates.push(Template {
                    holes: placeholders(&msgid),
                    pattern,
                    msgstr,
                    literal,
                });
            } else {
                c.exact.insert(msgid, msgstr);
            }
        }
        // The most specific template (most literal text) first.
        c.templates.sort_by_key(|t| std::cmp::Reverse(t.literal));
        Ok(c)
    }

    /// A catalog from embedded text; a malformed one is empty (English
    /// shows; the completeness test reports the file).
    pub fn embedded(po: &str) -> Catalog {
        Catalog::parse(po).unwrap_or_default()
    }

    /// Every entry, translated or not, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The exact translation of `en`.
    pub fn exact(&self, en: &str) -> Option<&str> {
        self.exact.get(en).map(String::as_str)
    }
}

static KIT: OnceLock<Catalog> = OnceLock::new();
static APP_POS: OnceLock<Vec<&'static str>> = OnceLock::new();
static APPS: OnceLock<Vec<Catalog>> = OnceLock::new();
static LABS: Mutex<Vec<(&'static str, &'static Catalog)>> = Mutex::new(Vec::new());
static DECLS: OnceLock<Vec<&'static LabDecl>> = OnceLock::new();

/// The kit's catalog (`labs/kit/ja.po`).
pub fn kit_catalog() -> &'static Catalog {
    KIT.get_or_init(|| Catalog::embedded(include_str!("../ja.po")))
}

/// Give the kit the executable's own catalog (the runner's), searched
/// after the lab's and the kit's. The first call (of this or
/// [`set_app_catalogs`]) wins.
pub fn set_app_catalog(po: &'static str) {
    set_app_catalogs(&[po]);
}

/// Give the kit the executable's catalogs: its own, then those of crates
/// whose English it draws (the exercises' checks), searched in this order
/// after the lab's and the kit's. The first call wins. They are parsed on
/// first use: a run in English never parses them (a start of `lab
/// container` must not pay for Japanese).
pub fn set_app_catalogs(pos: &[&'static str]) {
    let _ = APP_POS.set(pos.to_vec());
}

/// The executable's catalogs, in order.
fn app_catalogs() -> &'static [Catalog] {
    match APP_POS.get() {
        Some(pos) => APPS.get_or_init(|| pos.iter().map(|po| Catalog::embedded(po)).collect()),
        None => &[],
    }
}

/// Make the labs known by slug, so that a renderer that only sees a lab's
/// events finds its catalog. The first call wins.
pub fn register_labs(labs: &[&'static LabDecl]) {
    let _ = DECLS.set(labs.to_vec());
}

/// A lab's catalog, parsed once.
pub fn lab_catalog(decl: &'static LabDecl) -> &'static Catalog {
    let mut labs = LABS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, c)) = labs.iter().find(|(slug, _)| *slug == decl.slug) {
        return c;
    }
    // Parsed once per lab and kept for the process's life.
    let c: &'static Catalog = Box::leak(Box::new(Catalog::embedded(decl.i18n.ja_po)));
    labs.push((decl.slug, c));
    c
}

/// Translates text for a person, in the [`current`] language: a lab's
/// catalog (when there is one), then the kit's, then the executable's.
#[derive(Debug, Clone, Copy, Default)]
pub struct Translator {
    lab: Option<&'static Catalog>,
}

impl Translator {
    /// For text of this lab.
    pub fn for_lab(decl: &'static LabDecl) -> Self {
        Translator {
            lab: Some(lab_catalog(decl)),
        }
    }

    /// For text of the lab with this slug, when [`register_labs`] knows it.
    pub fn for_slug(slug: &str) -> Self {
        let decl = DECLS.get().and_then(|d| d.iter().find(|l| l.slug == slug).copied());
        decl.map_or_else(Translator::default, Translator::for_lab)
    }

    /// The catalogs searched, in order.
    fn catalogs(&self) -> impl Iterator<Item = &'static Catalog> {
        self.lab
            .into_iter()
            .chain(std::iter::once(kit_catalog()))
            .chain(app_catalogs())
    }

    /// `en` in the current language (itself in English, or when no catalog
    /// has it).
    pub fn text<'a>(&self, en: &'a str) -> Cow<'a, str> {
        if current() == Lang::En {
            return Cow::Borrowed(en);
        }
        self.translate(en, 0).map_or(Cow::Borrowed(en), Cow::Owned)
    }

    /// `en` in Japanese, whatever the current language: an exact entry, or
    /// a template whose placeholders are filled with what they stood for
    /// (translated where a catalog knows it).
    pub fn translate(&self, en: &str, depth: usize) -> Option<String> {
        if let Some(s) = self.catalogs().find_map(|c| c.exact(en)) {
            return Some(s.to_string());
        }
        if depth > 2 {
            return None;
        }
        // First a template whose every captured phrase translates too, then
        // one that leaves some English inside: a specific template must not
        // swallow the next sentence (`…{from}` taking `; raise it: …`) when
        // glue (`{}; {}`) can join two translated ones.
        for whole in [true, false] {
            for c in self.catalogs() {
                for t in &c.templates {
                    // A template with little text of its own (`{}; {}`) is glue:
                    // it applies only where what it joins is translated too (or
                    // is data without spaces), never to English prose that
                    // happens to contain its glue; each way of splitting is tried.
                    let glue = t.literal < 12;
                    let candidates = if glue {
                        match_template_all(&t.pattern, en, 16)
                    } else {
                        match_template(&t.pattern, en).into_iter().collect()
                    };
                    for values in candidates {
                        let translated: Vec<Option<String>> =
                            values.iter().map(|v| self.translate(v, depth + 1)).collect();
                        let english_left = values
                            .iter()
                            .zip(&translated)
                            .any(|(v, tr)| tr.is_none() && v.contains(' '));
                        if english_left && (whole || glue) {
                            continue;
                        }
                        let values: Vec<String> = values
                            .iter()
                            .zip(translated)
                            .map(|(v, tr)| tr.unwrap_or_else(|| v.to_string()))
                            .collect();
                        return Some(fill(&t.holes, &t.msgstr, &values));
                    }
                }
            }
        }
        None
    }

    /// Whether some catalog has `en`, exactly or as a template's instance.
    pub fn covers(&self, en: &str) -> bool {
        self.catalogs()
            .any(|c| c.exact(en).is_some() || c.templates.iter().any(|t| match_template(&t.pattern, en).is_some()))
    }
}

/// A static English string (the kit's or the executable's) in the current
/// language: exact entries only.
pub fn tr(en: &'static str) -> &'static str {
    if current() == Lang::En {
        return en;
    }
    kit_catalog()
        .exact(en)
        .or_else(|| app_catalogs().iter().find_map(|c| c.exact(en)))
        .unwrap_or(en)
}

/// A template (`"{} labs"`) in the current language, filled with `values`
/// in the order of the English placeholders.
pub fn trf(en: &'static str, values: &[&dyn std::fmt::Display]) -> String {
    let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    fill(&placeholders(en), tr(en), &values)
}

/// English produced for people but sent as English (a reason in a report)
/// is marked with `tr!`, which is `format!`: it is translated where it is
/// drawn, and the mark is what the completeness test (`tests/tests/i18n.rs`)
/// collects into the catalog beside the code (`labs/kit/ja.po`,
/// `lab-runner/ja.po`) as a template.
#[macro_export]
macro_rules! tr {
    ($($arg:tt)*) => {
        format!($($arg)*)
    };
}

/// A lab's report with its texts for people in the current language:
/// titles, reasons, setup lines that are no call, observation and check
/// names. Calls, values and expected/actual stay as the kernel gave them.
pub fn translate_report(report: &mut LabReport) {
    if current() == Lang::En {
        return;
    }
    let t = Translator::for_slug(&report.slug);
    let tx = |s: &mut String| {
        if let Cow::Owned(o) = t.text(s) {
            *s = o;
        }
    };
    tx(&mut report.title);
    if let Some(r) = report.reason.as_mut() {
        tx(r);
    }
    for line in &mut report.setup {
        tx(line);
    }
    for step in &mut report.steps {
        tx(&mut step.title);
        if let Some(r) = step.reason.as_mut() {
            tx(r);
        }
        for o in &mut step.observations {
            tx(&mut o.name);
        }
        for c in &mut step.checks {
            tx(&mut c.name);
        }
    }
}

/// A lab's catalog and lesson in Japanese, declared with the lab.
#[derive(Debug, Clone, Copy)]
pub struct LabI18n {
    /// `include_str!("../ja.po")`: the lab's texts.
    pub ja_po: &'static str,
    /// `Some(include_str!("../explain.ja.md"))` once the lesson is translated.
    pub ja_explanation: Option<&'static str>,
}

/// Pad `s` with spaces to `width` display columns (a wide character takes
/// two), as `{:<width$}` would for ASCII.
pub fn pad(s: &str, width: usize) -> String {
    let w = unicode_width::UnicodeWidthStr::width(s);
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

/// Display columns of `s`.
pub fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(entries: &[(&str, &str)]) -> Catalog {
        let mut po = String::from("msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=UTF-8\\n\"\n\n");
        for (id, s) in entries {
            po.push_str(&format!("msgid \"{id}\"\nmsgstr \"{s}\"\n\n"));
        }
        Catalog::parse(&po).expect("parses")
    }

    #[test]
    fn locale_order_is_posix() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |n: &str| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())
        };
        assert_eq!(from_locale(env(&[("LANG", "ja_JP.UTF-8")])), Lang::Ja);
        assert_eq!(from_locale(env(&[("LANG", "ja")])), Lang::Ja);
        assert_eq!(from_locale(env(&[("LC_ALL", "C"), ("LANG", "ja_JP.UTF-8")])), Lang::En);
        assert_eq!(from_locale(env(&[("LC_ALL", ""), ("LC_MESSAGES", "ja_JP")])), Lang::Ja);
        assert_eq!(from_locale(env(&[])), Lang::En);
    }

    #[test]
    fn placeholders_are_braced_names_only() {
        assert_eq!(placeholders("pid {} in {ns}"), ["", "ns"]);
        assert!(placeholders("uname({nodename=…}) = 0").is_empty());
        assert!(!is_template("a {b c}"));
    }

    #[test]
    fn templates_match_and_fill_by_name() {
        let p = pieces("needs step {n} ({title}), which did not run");
        let v = match_template(&p, "needs step 2 (Two (nested) things), which did not run").expect("matches");
        assert_eq!(v, ["2", "Two (nested) things"]);
        assert_eq!(
            fill(
                &placeholders("{a} then {b}"),
                "{b} の後に {a}",
                &["x".into(), "y".into()]
            ),
            "y の後に x"
        );
        assert!(match_template(&pieces("a {} b"), "a  b").is_none());
        // `{}` takes the value of the English `{}` in the same place among
        // the unnamed ones, whatever named ones come before it.
        assert_eq!(
            fill(
                &placeholders("no {k} here (EINVAL from {})"),
                "{k} なし（{} が EINVAL）",
                &["user".into(), "unshare(CLONE_NEWUSER)".into()]
            ),
            "user なし（unshare(CLONE_NEWUSER) が EINVAL）"
        );
        assert_eq!(
            fill(
                &placeholders("Linux {major}.{minor}; this is {}.{}"),
                "{}.{} は古く、{major}.{minor} が必要",
                &["6".into(), "1".into(), "5".into(), "4".into()]
            ),
            "5.4 は古く、6.1 が必要"
        );
        assert!(
            match_template(&pieces("x {}"), "x ").is_none(),
            "a placeholder is never empty"
        );
    }

    #[test]
    fn unnamed_holes_keep_their_order_among_named_ones() {
        let holes: Vec<String> = ["", "errno", "", "n"].iter().map(|s| s.to_string()).collect();
        let values: Vec<String> = ["mount", "EPERM", "mount(…)", "2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            fill(&holes, "{} refused ({errno}): {}; {n} filter(s)", &values),
            "mount refused (EPERM): mount(…); 2 filter(s)"
        );
        assert_eq!(
            fill(&holes, "{n} 個: {} が {errno}、{}", &values),
            "2 個: mount が EPERM、mount(…)"
        );
        // A trailing placeholder may stand for nothing.
        let p = pieces("the limit is 0{from}");
        assert_eq!(match_template(&p, "the limit is 0"), Some(vec![""]));
        assert_eq!(match_template(&p, "the limit is 0: ENOSPC"), Some(vec![": ENOSPC"]));
        assert_eq!(match_template_all(&p, "the limit is 0", 4), vec![vec![""]]);
    }

    #[test]
    fn exact_first_then_templates_and_captures_translate() {
        let c: &'static Catalog = Box::leak(Box::new(catalog(&[
            ("the child", "子プロセス"),
            ("{} has exited here", "{} が終了"),
            ("the child exited", "子プロセスが終了しました"),
        ])));
        let t = Translator { lab: Some(c) };
        assert_eq!(
            t.translate("the child exited", 0).as_deref(),
            Some("子プロセスが終了しました")
        );
        assert_eq!(t.translate("pid 7 has exited here", 0).as_deref(), Some("pid 7 が終了"));
        assert_eq!(t.translate("unknown", 0), None);
        assert!(t.covers("x has exited here") && !t.covers("has exited here"));
        // Glue joins only what is translated: English prose stays English.
        let c: &'static Catalog = Box::leak(Box::new(catalog(&[("{}; {}", "{}。{}"), ("cause", "原因")])));
        let t = Translator { lab: Some(c) };
        assert_eq!(t.translate("one holder; another one", 0), None);
        assert_eq!(t.translate("cause; cause", 0).as_deref(), Some("原因。原因"));
        // A cause that holds the glue itself: the split that translates wins.
        let c: &'static Catalog = Box::leak(Box::new(catalog(&[
            ("{}; {}", "{}。{}"),
            (
                "refused {}; it runs under {n} filter(s)",
                "{} が拒否され、フィルタは {n} 個",
            ),
            ("run without it", "それなしで実行します"),
        ])));
        let t = Translator { lab: Some(c) };
        assert_eq!(
            t.translate("refused mount; it runs under 2 filter(s); run without it", 0)
                .as_deref(),
            Some("mount が拒否され、フィルタは 2 個。それなしで実行します")
        );
    }

    #[test]
    fn untranslated_entries_are_kept_but_not_used() {
        let c = catalog(&[("a", ""), ("b", "ビー")]);
        assert_eq!(c.entries().len(), 2);
        assert_eq!(c.exact("a"), None);
        assert_eq!(c.exact("b"), Some("ビー"));
    }

    #[test]
    fn pad_counts_display_columns() {
        assert_eq!(pad("名前", 6), "名前  ");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(width("ラボ"), 4);
    }
}
