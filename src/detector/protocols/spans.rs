//! Character offsets. mockdet's findings carry byte offsets (always on char
//! boundaries); the FMS orchestrator and Presidio index text by Unicode
//! scalar values (Rust `chars()`, Python `str` indices), so their spans are
//! converted once per answer, in one pass over the text.

/// Converts byte offsets of one text into character offsets.
#[derive(Debug)]
pub(crate) struct CharOffsets<'a> {
    text: &'a str,
    ascii: bool,
    /// The last conversion, `(byte, char)`: offsets asked in increasing
    /// order cost one pass in all.
    last: (usize, usize),
}

impl<'a> CharOffsets<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            ascii: text.is_ascii(),
            last: (0, 0),
        }
    }

    /// The character offset of byte offset `byte` (clamped to the text; a
    /// byte inside a character counts that character as started).
    pub(crate) fn at(&mut self, byte: usize) -> usize {
        let byte = byte.min(self.text.len());
        if self.ascii {
            return byte;
        }
        let (from_byte, from_char) = if byte >= self.last.0 {
            self.last
        } else {
            (0, 0)
        };
        let counted = self.text.as_bytes()[from_byte..byte]
            .iter()
            // Every char starts with a byte that is not a continuation byte.
            .filter(|b| (**b as i8) >= -0x40)
            .count();
        self.last = (byte, from_char + counted);
        self.last.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_characters_not_bytes() {
        let text = "héllo ✓ wörld 😀 end";
        let mut offsets = CharOffsets::new(text);
        for (chars, (byte, _)) in text.char_indices().enumerate() {
            assert_eq!(offsets.at(byte), chars, "at byte {byte}");
        }
        assert_eq!(offsets.at(text.len()), text.chars().count());
        // Going back restarts the count.
        assert_eq!(offsets.at(1), 1);
        assert_eq!(offsets.at(usize::MAX), text.chars().count());
    }

    #[test]
    fn ascii_is_the_identity() {
        let mut offsets = CharOffsets::new("plain text");
        assert_eq!(offsets.at(5), 5);
        assert_eq!(offsets.at(99), 10);
    }
}
