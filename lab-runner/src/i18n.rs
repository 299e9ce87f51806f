//! The runner's language: `--lang ja|en` (on every subcommand), else the
//! locale (`LC_ALL`, `LC_MESSAGES`, `LANG`), else English; its catalog
//! (`lab-runner/ja.po`); and `--help` in Japanese. clap has no i18n of its
//! own, so the `Command` tree's about and help strings are replaced by their
//! translations before parsing ([`localize`]).
//!
//! Machine formats (JSON, JUnit, TAP) stay English unless `--lang` was given
//! explicitly ([`Choice::machine`]): reports and snapshots never depend on the
//! locale.

use clap::builder::StyledStr;
pub use lab_kit::i18n::{Lang, current, tr, trf};

/// The runner's catalog: its headers, summary, usage errors and help texts.
pub const CATALOG: &str = include_str!("../ja.po");

/// The language chosen, and whether `--lang` chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// For people.
    pub lang: Lang,
    /// `--lang` was on the command line.
    pub explicit: bool,
}

impl Choice {
    /// The language of a machine format: English unless `--lang` asked.
    pub fn machine(self) -> Lang {
        if self.explicit { self.lang } else { Lang::En }
    }
}

/// `--lang` from the arguments (`--lang ja`, `--lang=ja`), else the locale.
/// Read before clap parses, so that `--help` is already translated. An
/// unknown value is left to clap to report.
pub fn choose(args: &[std::ffi::OsString], env: impl Fn(&str) -> Option<String>) -> Choice {
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    let mut given = None;
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        let value = match a.strip_prefix("--lang") {
            Some("") => it.next().map(|v| v.into_owned()),
            Some(rest) => rest.strip_prefix('=').map(str::to_string),
            None => None,
        };
        match value.as_deref() {
            Some("ja") => given = Some(Lang::Ja),
            Some("en") => given = Some(Lang::En),
            _ => {}
        }
    }
    match given {
        Some(lang) => Choice { lang, explicit: true },
        None => Choice {
            lang: lab_kit::i18n::from_locale(env),
            explicit: false,
        },
    }
}

/// The choice [`init`] was given, for the subcommands that decide per
/// format ([`machine_format`]).
static CHOICE: std::sync::OnceLock<Choice> = std::sync::OnceLock::new();

/// Make the catalogs known to the kit (the runner's, then the exercises'
/// checks') and set the language for people.
pub fn init(choice: Choice) {
    let _ = CHOICE.set(choice);
    lab_kit::i18n::set_app_catalogs(&[CATALOG, lab_exercises::JA_PO]);
    lab_kit::i18n::register_labs(crate::registry::LABS);
    lab_kit::i18n::set(choice.lang);
}

/// What follows is a machine format: from here on the process speaks
/// [`Choice::machine`] (English unless `--lang` asked).
pub fn machine_format() {
    let choice = CHOICE.get().copied().unwrap_or(Choice {
        lang: Lang::En,
        explicit: false,
    });
    lab_kit::i18n::set(choice.machine());
}

/// A styled help text in the current language (its plain text is the key).
fn styled(s: &StyledStr) -> Option<StyledStr> {
    let en = s.to_string();
    let t = lab_kit::i18n::Translator::default();
    t.translate(&en, 0).map(StyledStr::from)
}

/// The headings clap writes itself, in Japanese.
const USAGE_TEMPLATE: &str = "{before-help}{about-with-newline}\n使い方: {usage}\n\n{all-args}{after-help}";

/// `cmd` with every about, help and heading of its tree translated; the
/// tree unchanged in English.
pub fn localize(mut cmd: clap::Command) -> clap::Command {
    if current() == Lang::En {
        return cmd;
    }
    // The help and version flags exist only once the tree is built.
    cmd.build();
    localize_one(cmd)
}

fn localize_one(mut cmd: clap::Command) -> clap::Command {
    if let Some(s) = cmd.get_about().and_then(styled) {
        cmd = cmd.about(s);
    }
    if let Some(s) = cmd.get_long_about().and_then(styled) {
        cmd = cmd.long_about(s);
    }
    if let Some(s) = cmd.get_after_help().and_then(styled) {
        cmd = cmd.after_help(s);
    }
    if let Some(s) = cmd.get_after_long_help().and_then(styled) {
        cmd = cmd.after_long_help(s);
    }
    if let Some(s) = cmd.get_before_help().and_then(styled) {
        cmd = cmd.before_help(s);
    }
    cmd = cmd
        .help_template(USAGE_TEMPLATE)
        .subcommand_help_heading(tr("Commands"))
        .mut_args(|mut a| {
            let (short, long) = value_notes(&a);
            let help = a.get_help().map(|h| styled(h).unwrap_or_else(|| h.clone()));
            let long_help = a.get_long_help().map(|h| styled(h).unwrap_or_else(|| h.clone()));
            if !short.is_empty() || !long.is_empty() {
                // clap would write these in English: it writes nothing now.
                a = a.hide_possible_values(true).hide_default_value(true);
                let base = help.clone().unwrap_or_default();
                a = a.help(StyledStr::from(format!("{base}{short}")));
                let base = long_help.clone().or(help).unwrap_or_default();
                a = a.long_help(StyledStr::from(format!("{base}{long}")));
            } else {
                if let Some(s) = help {
                    a = a.help(s);
                }
                if let Some(s) = long_help {
                    a = a.long_help(s);
                }
            }
            if a.get_help_heading().is_none() {
                let heading = if a.is_positional() {
                    tr("Arguments")
                } else {
                    tr("Options")
                };
                a = a.help_heading(heading);
            }
            a
        });
    cmd.mut_subcommands(localize_one)
}

/// What clap appends to an option's help in English (its possible values,
/// its default), in Japanese: for `-h` (one line) and for `--help` (a list
/// with each value's help). Empty when clap would append nothing.
fn value_notes(a: &clap::Arg) -> (String, String) {
    let (mut short, mut long) = (String::new(), String::new());
    let takes_values = a.get_num_args().is_some_and(|n| n.takes_values());
    if !takes_values {
        return (short, long);
    }
    let values: Vec<clap::builder::PossibleValue> = a
        .get_possible_values()
        .into_iter()
        .filter(|v| !v.is_hide_set())
        .collect();
    if !values.is_empty() && !a.is_hide_possible_values_set() {
        let names: Vec<&str> = values.iter().map(|v| v.get_name()).collect();
        short.push_str(&trf(" [possible values: {}]", &[&names.join(", ")]));
        if values.iter().any(|v| v.get_help().is_some()) {
            long.push_str(&format!("\n\n{}", tr("Possible values:")));
            for v in &values {
                let help = v.get_help().map(|h| value_help(&h.to_string()));
                match help {
                    Some(h) => long.push_str(&format!("\n- {}: {h}", v.get_name())),
                    None => long.push_str(&format!("\n- {}", v.get_name())),
                }
            }
        } else {
            long.push_str(&short);
        }
    }
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && !a.is_hide_default_value_set() {
        let note = trf("[default: {}]", &[&defaults.join(", ")]);
        short.push_str(&format!(" {note}"));
        long.push_str(&if long.contains('\n') {
            format!("\n\n{note}")
        } else {
            format!(" {note}")
        });
    }
    (short, long)
}

/// A possible value's help in the current language: a lab's title from
/// the lab's own catalog, anything else from the runner's.
fn value_help(en: &str) -> String {
    match lab_title(en) {
        Some(lab) => lab_kit::i18n::Translator::for_lab(lab).text(en).into_owned(),
        None => lab_kit::i18n::Translator::default().text(en).into_owned(),
    }
}

fn lab_title(en: &str) -> Option<&'static lab_kit::LabDecl> {
    crate::registry::LABS.iter().copied().find(|l| l.title == en)
}

/// Every text of `cmd`'s tree a person reads in `--help`, in English: the
/// sources of the catalog's help entries (the completeness test's).
pub fn help_texts(cmd: &clap::Command) -> Vec<String> {
    let mut out = Vec::new();
    let mut cmd = cmd.clone();
    cmd.build();
    collect(&cmd, &mut out);
    out
}

fn collect(cmd: &clap::Command, out: &mut Vec<String>) {
    if cmd.is_hide_set() {
        return;
    }
    let texts = [
        cmd.get_about(),
        cmd.get_long_about(),
        cmd.get_after_help(),
        cmd.get_after_long_help(),
        cmd.get_before_help(),
    ];
    out.extend(texts.into_iter().flatten().map(|s| s.to_string()));
    for a in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        out.extend(
            [a.get_help(), a.get_long_help()]
                .into_iter()
                .flatten()
                .map(|s| s.to_string()),
        );
        // Each possible value's own help (`--color`'s `auto: When …`).
        out.extend(
            a.get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .filter_map(|v| v.get_help().map(|h| h.to_string()))
                // A lab's title is in the lab's catalog.
                .filter(|h| lab_title(h).is_none()),
        );
    }
    for s in cmd.get_subcommands() {
        collect(s, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<std::ffi::OsString> {
        a.iter().map(Into::into).collect()
    }

    #[test]
    fn lang_option_wins_over_the_locale() {
        let ja = |n: &str| (n == "LANG").then(|| "ja_JP.UTF-8".to_string());
        let none = |_: &str| None;
        assert_eq!(
            choose(&args(&["lab", "run", "--lang", "en"]), ja),
            Choice {
                lang: Lang::En,
                explicit: true
            }
        );
        assert_eq!(choose(&args(&["lab", "--lang=ja", "list"]), none).lang, Lang::Ja);
        let from_locale = choose(&args(&["lab", "run"]), ja);
        assert_eq!((from_locale.lang, from_locale.explicit), (Lang::Ja, false));
        assert_eq!(from_locale.machine(), Lang::En, "machine formats ignore the locale");
        assert_eq!(
            choose(&args(&["lab", "container", "--", "x", "--lang", "ja"]), none).lang,
            Lang::En
        );
    }
}
