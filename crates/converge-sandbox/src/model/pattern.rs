//! The models' patterns are Java regular expressions, matched against the
//! whole value (AWS's servers run Java's `Pattern.matches`). They are
//! translated once into the `regex` crate's syntax: `\uXXXX` escapes (and
//! UTF-16 surrogate pairs) become code points, and `\w`, `\d` keep Java's
//! ASCII meaning.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex::Regex;

/// True when `text` matches all of `pattern`. A pattern the translation
/// cannot express matches everything (the tests keep that set empty).
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    static COMPILED: OnceLock<Mutex<HashMap<String, Option<Regex>>>> = OnceLock::new();
    let cache = COMPILED.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let regex = cache.entry(pattern.to_owned()).or_insert_with(|| compile(pattern).ok());
    regex.as_ref().is_none_or(|r| r.is_match(text))
}

pub(crate) fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?:{})$", translate(pattern)))
}

/// Java's syntax to the `regex` crate's.
pub(crate) fn translate(pattern: &str) -> String {
    // A lookahead the `regex` crate has no syntax for, in SageMaker's "not blank" strings.
    if pattern == r"(?!\s*$).+" {
        return r".*\S.*".to_owned();
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '\\' if i + 1 < chars.len() => {
                let next = chars[i + 1];
                i += 1;
                match next {
                    'u' => {
                        let (code, used) = unicode_escape(&chars[i + 1..]);
                        match code {
                            Some(code) => out.push_str(&format!("\\x{{{code:X}}}")),
                            None => out.push_str("\\u"),
                        }
                        i += used;
                    }
                    'w' if in_class => out.push_str("0-9A-Za-z_"),
                    'w' => out.push_str("[0-9A-Za-z_]"),
                    'W' if !in_class => out.push_str("[^0-9A-Za-z_]"),
                    'd' if in_class => out.push_str("0-9"),
                    'd' => out.push_str("[0-9]"),
                    'D' if !in_class => out.push_str("[^0-9]"),
                    // Escapes both syntaxes share, and escaped meta characters.
                    'p' | 'P' | 's' | 'S' | 'n' | 'r' | 't' | 'f' | 'b' | 'B' | 'x' => {
                        out.push('\\');
                        out.push(next);
                    }
                    other if other.is_ascii_punctuation() => {
                        out.push('\\');
                        out.push(other);
                    }
                    other => out.push(other),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Reads the four hex digits after `\u` (and a low surrogate's `\uXXXX` after
/// a high one): the code point and how many characters were read.
fn unicode_escape(rest: &[char]) -> (Option<u32>, usize) {
    let hex = |s: &[char]| -> Option<u32> {
        (s.len() >= 4).then(|| s[..4].iter().collect::<String>()).and_then(|h| u32::from_str_radix(&h, 16).ok())
    };
    let Some(unit) = hex(rest) else { return (None, 0) };
    if (0xD800..0xDC00).contains(&unit)
        && rest.get(4) == Some(&'\\')
        && rest.get(5) == Some(&'u')
        && let Some(low) = hex(&rest[6..]).filter(|low| (0xDC00..0xE000).contains(low))
    {
        return (Some(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)), 10);
    }
    (Some(unit), 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Shape, models};

    #[test]
    fn every_pattern_of_the_models_compiles() {
        let mut failures = Vec::new();
        for (service, model) in &models().services {
            for (name, shape) in &model.shapes {
                if let Shape::String { pattern: Some(pattern), .. } = shape
                    && let Err(error) = compile(pattern)
                {
                    failures.push(format!("{service} {name} {pattern:?} → {:?}: {error}", translate(pattern)));
                }
            }
        }
        assert!(failures.is_empty(), "patterns the sandbox cannot check:\n{}", failures.join("\n"));
    }

    #[test]
    fn java_meanings_are_kept() {
        // IAM role names: `\w` is ASCII in Java.
        assert!(matches(r"[\w+=,.@-]+", "EMR_DefaultRole"));
        assert!(!matches(r"[\w+=,.@-]+", "rôle"));
        assert!(!matches(r"[\w+=,.@-]+", "a b"), "the whole value must match");
        // EMR's XmlString: any character but a few controls, surrogate pairs included.
        let xml = r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]*";
        assert!(matches(xml, "café 🚀\n"));
        assert!(!matches(xml, "bell\u{7}"));
        // SageMaker's "not blank".
        assert!(matches(r"(?!\s*$).+", " x "));
        assert!(!matches(r"(?!\s*$).+", "   "));
        assert!(matches(r"\d+", "42") && !matches(r"\d+", "٤٢"));
    }
}
