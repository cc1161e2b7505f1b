//! Shared text for what many events repeat: a stream's name, an event type, a content type.
//! `read_stream` hands every event it reads the same stream [`Name`], and every read reuses
//! the names it made last when a record repeats one, so an event read allocates its data
//! (and its metadata, if any) and, mostly, nothing else.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A stream name, event type or content type of a read event: immutable text, cheap to
/// clone (the events of one read share it). Reads as a `&str` (`Deref`, [`Name::as_str`])
/// and compares with `str`, `&str` and `String`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Arc<str>);

impl Name {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Name {
    /// The empty name (the event type of a record written without one).
    fn default() -> Name {
        Name::from("")
    }
}

impl Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Name {
        Name(Arc::from(text))
    }
}

impl From<String> for Name {
    fn from(text: String) -> Name {
        Name(Arc::from(text))
    }
}

impl From<Name> for String {
    fn from(name: Name) -> String {
        name.0.as_ref().to_owned()
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        *self == *other.0
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        **self == *other.0
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        **self == *other.0
    }
}

/// The names one read made last, handed out again when the same text comes back (event
/// types and content types repeat from event to event, and stream names in runs). Keeps the
/// last [`RECENT`] made, first in first out, so a lookup never scans long; a miss allocates.
/// Text that is not UTF-8 never matches (it is kept as its lossy conversion) and always
/// allocates: rare, and no worse than without the cache.
#[derive(Debug, Default)]
pub(super) struct Names {
    recent: Vec<Name>,
}

/// How many names [`Names`] keeps.
const RECENT: usize = 8;

impl Names {
    /// A name with `text`: one already made if it is among the recent ones.
    pub(super) fn get(&mut self, text: &[u8]) -> Name {
        if let Some(found) = self.recent.iter().find(|n| n.as_bytes() == text) {
            return found.clone();
        }
        let name = Name::from(String::from_utf8_lossy(text).as_ref());
        if self.recent.len() == RECENT {
            self.recent.remove(0);
        }
        self.recent.push(name.clone());
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_with_text_both_ways() {
        let name = Name::from("Deposited");
        let (text, owned) = ("Deposited", String::from("Deposited"));
        assert_eq!(name, text);
        assert_eq!(text, name);
        assert_eq!(name, *text);
        assert_eq!(*text, name);
        assert_eq!(name, owned);
        assert_eq!(owned, name);
        assert_ne!(name, "Withdrawn");
        assert_eq!(format!("{name} {name:?}"), "Deposited \"Deposited\"");
        assert_eq!(String::from(name.clone()), "Deposited");
        let map: std::collections::HashMap<Name, i32> = [(name, 1)].into();
        assert_eq!(map.get("Deposited"), Some(&1));
    }

    #[test]
    fn a_read_shares_repeated_names_and_keeps_only_a_few() {
        let mut names = Names::default();
        let first = names.get(b"Deposited");
        let again = names.get(b"Deposited");
        assert!(Arc::ptr_eq(&first.0, &again.0), "a repeated type is shared");
        for n in 0..RECENT {
            names.get(format!("Type{n}").as_bytes());
        }
        assert_eq!(names.recent.len(), RECENT);
        let evicted = names.get(b"Deposited");
        assert!(!Arc::ptr_eq(&first.0, &evicted.0), "the oldest was let go");
        assert_eq!(evicted, first);
        // Bytes that are not UTF-8 read as the replacement character, as before.
        assert_eq!(names.get(b"caf\xe9"), "caf\u{fffd}");
    }
}
