//! Extra checks some rules apply to a matched span before reporting it:
//! SSN number ranges, the Luhn checksum of card numbers, and the
//! letter-and-digit shape of secret values.

/// SSN `AAA-GG-SSSS`: area not 000, 666 or 900–999; group not 00; serial not 0000.
pub(super) fn is_valid_ssn(text: &str) -> bool {
    let mut parts = text.split('-');
    let (Some(area), Some(group), Some(serial)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

/// Luhn checksum over the ASCII digits of `text` (separators ignored; the
/// credit-card pattern guarantees 13–19 digits).
pub(super) fn is_luhn_valid(text: &str) -> bool {
    let digits = text
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'));
    let sum: u32 = digits
        .rev()
        .enumerate()
        .map(|(i, d)| match (i % 2 == 1, d * 2) {
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
            (false, _) => d,
        })
        .sum();
    sum % 10 == 0
}

/// Secret values look random: at least one ASCII letter and one digit.
pub(super) fn has_letter_and_digit(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_alphabetic()) && text.bytes().any(|b| b.is_ascii_digit())
}
