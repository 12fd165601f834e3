//! Handover notes, pure: what one shift leaves the next on a line. A note belongs to the
//! shift occurrence it was written in (see [`super::shift_slot`]); this module says what
//! a note may hold.

use super::checklist::FieldError;

/// Longest note, in characters.
pub const MAX_NOTE: usize = 4_000;

/// The note with surrounding blanks trimmed, or a [`FieldError`] on `note` when it is
/// empty or longer than [`MAX_NOTE`] characters (counted as characters, not bytes).
pub fn note(text: &str) -> Result<String, FieldError> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > MAX_NOTE {
        return Err(FieldError::new("note", format!("must be 1-{MAX_NOTE} characters")));
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_holds_1_to_4000_characters() {
        // (text, kept)
        let cases = [
            (
                "  filler 2 leaks at valve 3\n",
                Some("filler 2 leaks at valve 3".to_owned()),
            ),
            ("x", Some("x".to_owned())),
            ("", None),
            (" \n\t ", None),
        ];
        for (text, want) in cases {
            assert_eq!(note(text).ok(), want, "{text:?}");
        }
        let most = "ä".repeat(MAX_NOTE); // 4000 characters, 8000 bytes
        assert_eq!(note(&most).map(|n| n.chars().count()), Ok(MAX_NOTE));
        let err = note(&"a".repeat(MAX_NOTE + 1)).unwrap_err();
        assert_eq!(err.field, "note");
    }
}
